//! The data language's overhead: evaluating the seed study's program for one replication against drawing
//! the same random numbers directly with parsim-random (target: at most 1.2x).
//!
//! Run: `cargo bench -p parsim --bench lang`. After criterion's report, prints the ratio measured in the
//! same run (best of several rounds, alternating so all see the same machine load), and for reference the
//! same program evaluated one column at a time (no fusion) and the blog's version of the program.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion};
use parsim::study::Study;
use parsim_random::{default_rng, Arg, Generator};

fn load(example: &str) -> Study {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(example);
    Study::load(&path).unwrap_or_else(|e| panic!("examples/{example} loads: {e}"))
}

fn seed_study() -> Study {
    load("seed-study.toml")
}

/// The numbers the seed's gen_data draws, straight from the generator into preallocated buffers.
struct Direct {
    x: Vec<f64>,
    g: Vec<i64>,
    a: Vec<f64>,
    b: Vec<f64>,
    e: Vec<f64>,
}

impl Direct {
    fn new() -> Self {
        Direct {
            x: vec![0.0; 5000],
            g: vec![0; 5000],
            a: vec![0.0; 5],
            b: vec![0.0; 5],
            e: vec![0.0; 5000],
        }
    }

    fn draw(&mut self, rng: &mut Generator) {
        rng.fill_normal(&mut self.x, Arg::Scalar(0.0), Arg::Scalar(1.0))
            .unwrap();
        rng.fill_integers(&mut self.g, Arg::Scalar(0), Arg::Scalar(5), false)
            .unwrap();
        rng.fill_normal(&mut self.a, Arg::Scalar(0.0), Arg::Scalar(1.0))
            .unwrap();
        rng.fill_normal(&mut self.b, Arg::Scalar(0.0), Arg::Scalar(0.25))
            .unwrap();
        rng.fill_normal(&mut self.e, Arg::Scalar(0.0), Arg::Scalar(1.0))
            .unwrap();
    }
}

fn bench(c: &mut Criterion) {
    let study = seed_study();
    let condition = study.conditions()[0].clone();
    let mut ws = study.program.workspace();
    let mut direct = Direct::new();
    let mut group = c.benchmark_group("seed replication");
    group.bench_function("parsim-random fills (baseline)", |bch| {
        bch.iter_batched_ref(
            || default_rng(7),
            |rng| direct.draw(black_box(rng)),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("data program", |bch| {
        bch.iter_batched_ref(
            || default_rng(7),
            |rng| {
                ws.generate(&study.program, &condition.values, black_box(rng))
                    .unwrap()
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

/// Best-of-rounds time per replication of `f`, generators made outside the timed region.
fn time_per_replication(mut f: impl FnMut(&mut Generator), reps: usize) -> Duration {
    let mut rngs: Vec<Generator> = (0..reps as u64).map(default_rng).collect();
    let start = Instant::now();
    for rng in &mut rngs {
        f(rng);
    }
    start.elapsed() / reps as u32
}

/// One replication of a study's program, its workspace reused.
struct Generate {
    study: Study,
    ws: parsim::lang::Workspace,
}

impl Generate {
    fn new(example: &str, fused: bool) -> Self {
        let mut study = load(example);
        study.program.set_fused(fused);
        let ws = study.program.workspace();
        Generate { study, ws }
    }

    fn run(&mut self, rng: &mut Generator) {
        let condition = &self.study.conditions()[0];
        self.ws
            .generate(&self.study.program, &condition.values, rng)
            .unwrap();
    }
}

/// Draws alone against the seed's program (the target), its unfused evaluation and the blog's version
/// of the program (one statement with the gathers inline), rounds alternating so all see the same load.
fn ratio() {
    let mut direct = Direct::new();
    let mut programs = [
        ("seed-study.toml", Generate::new("seed-study.toml", true)),
        (
            "seed-study.toml, column at a time",
            Generate::new("seed-study.toml", false),
        ),
        (
            "seed-study-blog.toml",
            Generate::new("seed-study-blog.toml", true),
        ),
    ];
    let mut best_direct = Duration::MAX;
    let mut best = [Duration::MAX; 3];
    for _ in 0..15 {
        best_direct = best_direct.min(time_per_replication(|rng| direct.draw(rng), 400));
        for (b, (_, p)) in best.iter_mut().zip(&mut programs) {
            *b = (*b).min(time_per_replication(|rng| p.run(rng), 400));
        }
    }
    black_box(&direct.x);
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "seed replication: direct draws {:.1} us, data program {:.1} us, ratio {:.3} (target <= 1.2)",
        us(best_direct),
        us(best[0]),
        best[0].as_secs_f64() / best_direct.as_secs_f64()
    );
    for (b, (name, _)) in best.iter().zip(&programs).skip(1) {
        println!(
            "  {name}: {:.1} us, ratio {:.3}",
            us(*b),
            b.as_secs_f64() / best_direct.as_secs_f64()
        );
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
    ratio();
}
