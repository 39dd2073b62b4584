//! Enables the AVX-512 kernels (`src/avx512.rs`) on x86_64 targets when the compiler is Rust 1.89 or
//! newer, where the AVX-512 intrinsics and their feature detection are stable. Older compilers (the
//! workspace supports 1.85) build the portable code only; the draws are the same either way.

use std::process::Command;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(parsim_avx512)");
    println!("cargo::rerun-if-env-changed=RUSTC");
    let x86_64 = std::env::var("CARGO_CFG_TARGET_ARCH").is_ok_and(|arch| arch == "x86_64");
    if x86_64 && rustc_minor().is_some_and(|minor| minor >= 89) {
        println!("cargo::rustc-cfg=parsim_avx512");
    }
}

/// The minor version of the compiler cargo uses (`rustc 1.95.0 (...)` -> 95).
fn rustc_minor() -> Option<u32> {
    let rustc = std::env::var_os("RUSTC")?;
    let output = Command::new(rustc).arg("--version").output().ok()?;
    let version = String::from_utf8(output.stdout).ok()?;
    let mut parts = version.split_whitespace().nth(1)?.split('.');
    match (parts.next()?, parts.next()?) {
        ("1", minor) => minor.parse().ok(),
        _ => None,
    }
}
