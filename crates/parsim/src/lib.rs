//! parsim: parallel Monte Carlo simulation studies of statistical methods.
//!
//! The data flow, one module per stage:
//! `study` (the TOML file) → `lang` (the data program) → `method` (the method contract; the built-in
//! models come from `parsim-lmm`) → `run` (workers, streams) → `store` (SQLite, every SQL statement) →
//! `measures` → `report` / `plot` → `page` (report.html). The `parsim` binary is the `parsim-cli` crate over this library;
//! `docs/architecture.md` is the map.

pub mod diagnostic;
pub mod lang;
pub mod measures;
pub mod merge;
pub mod method;
pub mod page;
pub mod plot;
mod reader;
pub mod report;
pub mod run;
pub mod slurm;
pub mod store;
pub mod study;

#[cfg(test)]
mod test_support;
