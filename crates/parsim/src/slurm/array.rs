//! Planning a job array: the options, the plan recorded beside the script, and writing both.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{
    sbatch_script, SlurmError, MANIFEST_FILE, SCRIPT_FILE, SHARDS_DIR, SLURM_DIR, STUDY_FILE,
};
use crate::run::study_hash;
use crate::store::Store;
use crate::study::Study;

/// What a job array's tasks ask Slurm for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resources {
    /// `--partition`.
    pub partition: Option<String>,
    /// `--time` (wall-clock limit per task, Slurm's syntax, e.g. `1:00:00`).
    pub time: Option<String>,
    /// `--cpus-per-task`: the task's worker threads (`parsim run --jobs`).
    pub cpus_per_task: u32,
    /// `--mem` (memory per node, Slurm's syntax, e.g. `4G`).
    pub mem: Option<String>,
}

impl Default for Resources {
    fn default() -> Self {
        Resources {
            partition: None,
            time: None,
            cpus_per_task: 1,
            mem: None,
        }
    }
}

/// How to split a study into a job array.
#[derive(Debug, Clone)]
pub struct SlurmOptions {
    /// Number of array tasks (shards), M.
    pub tasks: u64,
    /// The results directory.
    pub out: PathBuf,
    /// Replications per condition, overriding the study file's.
    pub replications: Option<u64>,
    /// What each task asks for.
    pub resources: Resources,
    /// The parsim binary the tasks run (the one planning the array; it must be reachable from the nodes).
    pub binary: PathBuf,
}

/// A planned job array, every path absolute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArrayPlan {
    /// The parsim binary the tasks run.
    pub binary: PathBuf,
    /// The study file the tasks read (the frozen copy in `DIR/slurm/`).
    pub study: PathBuf,
    /// The directory of the submitted study file, which the file names in its methods (a Python
    /// method's `file`) are relative to: the tasks read the copy, but resolve those names here.
    pub study_directory: PathBuf,
    /// The results directory.
    pub out: PathBuf,
    /// The study's name.
    pub study_name: String,
    /// SHA-256 of the study file's text.
    pub study_hash: String,
    /// Number of array tasks, M.
    pub tasks: u64,
    /// Replications per condition.
    pub replications: u64,
    /// Units of the whole study (conditions × replications).
    pub units: u64,
    /// What each task asks for.
    pub resources: Resources,
}

/// What `DIR/slurm/array.json` records, so that `parsim merge` and `parsim status` know the split.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The parsim version that wrote the plan.
    pub parsim_version: String,
    /// The study's name.
    pub study_name: String,
    /// SHA-256 of the study file's text.
    pub study_hash: String,
    /// Number of array tasks, M.
    pub tasks: u64,
    /// Replications per condition.
    pub replications: u64,
    /// Conditions of the design.
    pub conditions: u64,
    /// The parsim binary the tasks run.
    pub binary: PathBuf,
    /// The study file the tasks read.
    pub study: PathBuf,
    /// What each task asks for.
    pub resources: Resources,
}

impl ArrayPlan {
    /// The script's path: `DIR/slurm/parsim.sbatch`.
    pub fn script_path(&self) -> PathBuf {
        self.out.join(SLURM_DIR).join(SCRIPT_FILE)
    }

    fn manifest(&self, conditions: u64) -> Manifest {
        Manifest {
            parsim_version: env!("CARGO_PKG_VERSION").to_string(),
            study_name: self.study_name.clone(),
            study_hash: self.study_hash.clone(),
            tasks: self.tasks,
            replications: self.replications,
            conditions,
            binary: self.binary.clone(),
            study: self.study.clone(),
            resources: self.resources.clone(),
        }
    }
}

/// Task K's results directory: `DIR/shards/K`.
pub fn shard_dir(out: &Path, task: u64) -> PathBuf {
    out.join(SHARDS_DIR).join(task.to_string())
}

/// Plan `study` as a job array: write `DIR/slurm/{study.toml, parsim.sbatch, array.json}` and return the plan.
///
/// A directory already planned for another study or another split is refused once any task has stored
/// something, since those shards could not be merged with the new ones; replanning the same array (to change
/// resources, say) is fine.
pub fn prepare(study: &Study, options: &SlurmOptions) -> Result<ArrayPlan, SlurmError> {
    let replications = options.replications.unwrap_or(study.replications);
    let conditions = study.conditions().len() as u64;
    let units = conditions.saturating_mul(replications);
    if options.tasks == 0 {
        return Err(SlurmError::Invalid("--tasks must be at least 1".into()));
    }
    // A study with a stopping rule is split by condition (each condition's rounds are decided from all
    // its replications): a task beyond the conditions would have nothing to do.
    if study.stopping.is_some() && options.tasks > conditions {
        return Err(SlurmError::Invalid(format!(
            "--tasks {} exceeds the study's {conditions} conditions: a study with a [stopping] rule is split              by condition (each task runs every replication of its conditions), so some tasks would have              nothing to do",
            options.tasks
        )));
    }
    if options.tasks > units {
        return Err(SlurmError::Invalid(format!(
            "--tasks {} exceeds the study's {units} units ({conditions} conditions × {replications} replications): \
             some tasks would have nothing to do",
            options.tasks
        )));
    }
    if options.resources.cpus_per_task == 0 {
        return Err(SlurmError::Invalid(
            "--cpus-per-task must be at least 1".into(),
        ));
    }
    let slurm_dir = options.out.join(SLURM_DIR);
    fs::create_dir_all(&slurm_dir).map_err(|source| SlurmError::Io {
        path: slurm_dir.clone(),
        source,
    })?;
    let out = options
        .out
        .canonicalize()
        .map_err(|source| SlurmError::Io {
            path: options.out.clone(),
            source,
        })?;
    let binary = absolute(&options.binary)?;
    let plan = ArrayPlan {
        binary,
        study: out.join(SLURM_DIR).join(STUDY_FILE),
        study_directory: crate::study::study_directory(&study.path),
        out: out.clone(),
        study_name: study.name.clone(),
        study_hash: study_hash(&study.source),
        tasks: options.tasks,
        replications,
        units,
        resources: options.resources.clone(),
    };
    let manifest = plan.manifest(conditions);
    if let Some(old) = read_manifest(&out)? {
        refuse_changed_plan(&out, &old, &manifest)?;
    }
    write_atomically(&plan.study, study.source.as_bytes())?;
    write_atomically(&plan.script_path(), sbatch_script(&plan).as_bytes())?;
    set_executable(&plan.script_path())?;
    let json =
        serde_json::to_string_pretty(&manifest).map_err(|e| SlurmError::Invalid(e.to_string()))?;
    write_atomically(
        &out.join(SLURM_DIR).join(MANIFEST_FILE),
        format!("{json}\n").as_bytes(),
    )?;
    Ok(plan)
}

fn refuse_changed_plan(out: &Path, old: &Manifest, new: &Manifest) -> Result<(), SlurmError> {
    let what = if old.study_hash != new.study_hash {
        format!(
            "another study ({}, hash {:.12})",
            old.study_name, old.study_hash
        )
    } else if old.tasks != new.tasks {
        format!("{} tasks (this plan has {})", old.tasks, new.tasks)
    } else if old.replications != new.replications {
        format!(
            "{} replications per condition (this plan has {})",
            old.replications, new.replications
        )
    } else {
        return Ok(());
    };
    let any_shard = (0..old.tasks).any(|k| Store::path_in(&shard_dir(out, k)).exists());
    if any_shard {
        return Err(SlurmError::PlanChanged {
            dir: out.to_path_buf(),
            what,
        });
    }
    Ok(())
}

/// The plan recorded in `DIR/slurm/array.json`, if there is one.
pub fn read_manifest(out: &Path) -> Result<Option<Manifest>, SlurmError> {
    let path = out.join(SLURM_DIR).join(MANIFEST_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(SlurmError::Io { path, source }),
    };
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| SlurmError::BadManifest {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    if manifest.tasks == 0 {
        return Err(SlurmError::BadManifest {
            path,
            reason: "it plans 0 tasks".into(),
        });
    }
    Ok(Some(manifest))
}

fn absolute(path: &Path) -> Result<PathBuf, SlurmError> {
    path.canonicalize().map_err(|source| SlurmError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), SlurmError> {
    let tmp = path.with_extension("partial");
    fs::write(&tmp, bytes)
        .and_then(|()| fs::rename(&tmp, path))
        .map_err(|source| SlurmError::Io {
            path: path.to_path_buf(),
            source,
        })
}

#[cfg(unix)]
fn set_executable(path: &Path) -> Result<(), SlurmError> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).map_err(|source| SlurmError::Io {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(not(unix))]
fn set_executable(_path: &Path) -> Result<(), SlurmError> {
    Ok(())
}
