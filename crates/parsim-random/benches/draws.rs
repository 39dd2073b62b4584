//! Draw throughput of parsim-random, in numpy's terms. The `draws` group reports the time per draw
//! (criterion's time per iteration is one draw, made by the fill forms in chunks of up to `BATCH` into a
//! reused buffer); `bench/random.sh` prints it beside numpy timed in the same run by
//! `bench/numpy_random.py`. `replication/gen_data_n5000` is one whole `gen_data` of the seed study:
//! `default_rng(seed)`, then N = 5000 normals X, 5000 `integers(0, 5)`, 5 + 5 group normals and 5000
//! noise normals, into buffers reused across replications (`gen_data_n5000_serial`: the same on the old
//! serial path). `fill_5000` times a 5000-draw `normal(0, 1)` and `integers(0, 5)` fill as the public
//! fills run on this CPU (`fill_normal`, `fill_integers`: blocks and AVX-512 kernels where the CPU has
//! them) and on the old serial path (`fill_normal_serial`, `fill_integers_serial`), then prints the
//! median time per fill of both and their ratio, from a run that alternates the two paths.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use parsim_random::{default_rng, Arg, Generator};

/// Draws per iteration of the per-draw benchmarks (numpy's script uses the same size).
const BATCH: usize = 10_000;
/// Observations per replication in the seed study.
const N_OBS: usize = 5_000;
/// Groups per replication in the seed study.
const N_GROUPS: usize = 5;

/// Times `iters` draws made by `fill` in chunks of at most `BATCH`, so that criterion's time per
/// iteration is the time per draw.
fn per_draw_time<T: Copy + Default>(
    iters: u64,
    buf: &mut [T],
    mut fill: impl FnMut(&mut [T]),
) -> Duration {
    let start = Instant::now();
    let mut left = iters as usize;
    while left > 0 {
        let n = left.min(buf.len());
        fill(black_box(&mut buf[..n]));
        left -= n;
    }
    start.elapsed()
}

fn per_draw(c: &mut Criterion) {
    let mut group = c.benchmark_group("draws");
    let mut rng = default_rng(12345);
    let mut f = vec![0.0f64; BATCH];
    let mut k = vec![0i64; BATCH];
    group.bench_function("standard_normal", |b| {
        b.iter_custom(|iters| per_draw_time(iters, &mut f, |o| rng.fill_standard_normal(o)))
    });
    group.bench_function("integers_0_5", |b| {
        b.iter_custom(|iters| {
            per_draw_time(iters, &mut k, |o| {
                rng.fill_integers(o, Arg::Scalar(0), Arg::Scalar(5), false)
                    .unwrap()
            })
        })
    });
    group.bench_function("random", |b| {
        b.iter_custom(|iters| per_draw_time(iters, &mut f, |o| rng.fill_random(o)))
    });
    group.bench_function("exponential", |b| {
        b.iter_custom(|iters| {
            per_draw_time(iters, &mut f, |o| {
                rng.fill_exponential(o, Arg::Scalar(1.0)).unwrap()
            })
        })
    });
    group.bench_function("binomial_100_0.4", |b| {
        b.iter_custom(|iters| {
            per_draw_time(iters, &mut k, |o| {
                rng.fill_binomial(o, Arg::Scalar(100), Arg::Scalar(0.4))
                    .unwrap()
            })
        })
    });
    group.bench_function("poisson_25", |b| {
        b.iter_custom(|iters| {
            per_draw_time(iters, &mut k, |o| {
                rng.fill_poisson(o, Arg::Scalar(25.0)).unwrap()
            })
        })
    });
    group.finish();
}

/// Buffers of one replication, allocated once.
struct Workspace {
    x: Vec<f64>,
    g: Vec<i64>,
    a: [f64; N_GROUPS],
    b: [f64; N_GROUPS],
    e: Vec<f64>,
}

/// The seed study's `gen_data(seed)`, on the public fills or on the old serial path.
fn gen_data(seed: u64, ws: &mut Workspace, path: Path) {
    let mut rng = default_rng(seed);
    let zero = Arg::Scalar(0.0);
    let normal = |rng: &mut Generator, out: &mut [f64], scale: f64| match path {
        Path::Blocked => rng.fill_normal(out, zero, scale.into()),
        Path::Serial => rng.fill_normal_serial(out, zero, scale.into()),
    };
    normal(&mut rng, &mut ws.x, 1.0).unwrap();
    fill(&mut rng, Draws::Integers, path, ws);
    normal(&mut rng, &mut ws.a, 1.0).unwrap();
    normal(&mut rng, &mut ws.b, 0.25).unwrap();
    normal(&mut rng, &mut ws.e, 1.0).unwrap();
}

impl Workspace {
    fn new() -> Self {
        Workspace {
            x: vec![0.0; N_OBS],
            g: vec![0; N_OBS],
            a: [0.0; N_GROUPS],
            b: [0.0; N_GROUPS],
            e: vec![0.0; N_OBS],
        }
    }
}

fn replication(c: &mut Criterion) {
    let mut group = c.benchmark_group("replication");
    let mut ws = Workspace::new();
    let mut seed = 0u64;
    for (path, id) in [
        (Path::Blocked, "gen_data_n5000"),
        (Path::Serial, "gen_data_n5000_serial"),
    ] {
        group.bench_function(id, |b| {
            b.iter(|| {
                seed += 1;
                gen_data(black_box(seed), &mut ws, path);
                black_box(&ws.e);
            })
        });
    }
    group.bench_function("default_rng", |b| {
        b.iter(|| {
            seed += 1;
            default_rng(black_box(seed))
        })
    });
    group.finish();
}

/// The draws of one `fill_5000` row.
#[derive(Clone, Copy)]
enum Draws {
    Normal,
    Integers,
}

/// The fill path.
#[derive(Clone, Copy)]
enum Path {
    /// The old serial path (`fill_normal_serial`, `fill_integers_serial`).
    Serial,
    /// The public fills as they run on this CPU: blocks and AVX-512 kernels where it has them, else the
    /// serial path again.
    Blocked,
}

/// One fill of `N_OBS` draws into the workspace's `x` (normal) or `g` (integers).
fn fill(rng: &mut Generator, draws: Draws, path: Path, ws: &mut Workspace) {
    let (zero, one) = (Arg::Scalar(0.0), Arg::Scalar(1.0));
    let (low, high) = (0, N_GROUPS as i64);
    match (draws, path) {
        (Draws::Normal, Path::Blocked) => rng.fill_normal(&mut ws.x, zero, one),
        (Draws::Normal, Path::Serial) => rng.fill_normal_serial(&mut ws.x, zero, one),
        (Draws::Integers, Path::Blocked) => {
            rng.fill_integers(&mut ws.g, low.into(), high.into(), false)
        }
        (Draws::Integers, Path::Serial) => rng.fill_integers_serial(&mut ws.g, low, high, false),
    }
    .unwrap();
}

/// The median of `samples` (sorted in place).
fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Seconds per fill, over `calls` fills.
fn seconds_per_fill(
    rng: &mut Generator,
    draws: Draws,
    path: Path,
    ws: &mut Workspace,
    calls: u32,
) -> f64 {
    let start = Instant::now();
    for _ in 0..calls {
        fill(rng, draws, path, ws);
        black_box(&ws.x);
        black_box(&ws.g);
    }
    start.elapsed().as_secs_f64() / f64::from(calls)
}

const FILL_ROWS: [(Draws, &str); 2] = [
    (Draws::Normal, "normal(0, 1)"),
    (Draws::Integers, "integers(0, 5)"),
];

fn fill_paths(c: &mut Criterion) {
    let mut ws = Workspace::new();
    let mut rng = default_rng(2024);
    let mut group = c.benchmark_group("fill_5000");
    for (draws, name) in FILL_ROWS {
        for (path, label) in [(Path::Blocked, "blocked"), (Path::Serial, "serial")] {
            group.bench_function(format!("{name}/{label}"), |b| {
                b.iter(|| fill(&mut rng, draws, path, &mut ws))
            });
        }
    }
    group.finish();

    // The ratio from one run that alternates the two paths, so that both see the same machine load.
    const ROUNDS: usize = 400;
    const CALLS: u32 = 20;
    println!("\nfill of {N_OBS} draws, medians of {ROUNDS} alternating rounds of {CALLS} fills:");
    println!(
        "{:<16} {:>12} {:>12} {:>8}",
        "draws", "serial µs", "blocked µs", "ratio"
    );
    for (draws, name) in FILL_ROWS {
        let (mut blocked, mut serial) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            blocked.push(seconds_per_fill(
                &mut rng,
                draws,
                Path::Blocked,
                &mut ws,
                CALLS,
            ));
            serial.push(seconds_per_fill(
                &mut rng,
                draws,
                Path::Serial,
                &mut ws,
                CALLS,
            ));
        }
        let (b, s) = (median(&mut blocked), median(&mut serial));
        println!(
            "{name:<16} {:>12.2} {:>12.2} {:>7.2}x",
            s * 1e6,
            b * 1e6,
            s / b
        );
    }
}

fn config() -> Criterion {
    Criterion::default()
        // Many short samples (about 5 ms each): on a shared machine some of them run undisturbed, and
        // bench/random.sh reports the fastest sample.
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(1))
        .sample_size(200)
}

criterion_group! {
    name = benches;
    config = config();
    targets = per_draw, replication, fill_paths
}
criterion_main!(benches);
