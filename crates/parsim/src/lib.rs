//! parsim: parallel Monte Carlo simulation studies of statistical methods.
//!
//! The data flow, one module per stage:
//! `study` (the TOML file) → `lang` (the data program) → methods (`parsim-lmm`) →
//! `run` (workers, streams) → `store` (SQLite) → `measures` → `report` / `plot`.

pub mod diagnostic;
pub mod lang;
pub mod measures;
pub mod merge;
pub mod method;
pub mod plot;
mod reader;
pub mod report;
pub mod run;
pub mod slurm;
pub mod store;
pub mod study;

#[cfg(test)]
mod test_support;
