//! One unit of work: generate one replication's data set, fit every method, collect the rows.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Instant;

use parsim_lmm::{Coefficient, LmmFit, LmmFitter, OlsFitter, VarComp};

use crate::lang::Workspace;
use crate::store::{EstimateRecord, FitRecord, FitStatus, ReplicationRecord, TermKind};
use crate::study::{MethodSpec, ModelKind, Study};

/// A method's reusable model workspace.
enum Fitter {
    // Boxed: the workspaces are large and live as long as the worker; one indirection per fit is free.
    Lmm(Box<LmmFitter>),
    Ols(Box<OlsFitter>),
}

impl Fitter {
    fn new(method: &MethodSpec) -> Result<Fitter, String> {
        match method.model {
            ModelKind::Lmm => LmmFitter::new(&method.formula, method.lmm.clone())
                .map(|f| Fitter::Lmm(Box::new(f)))
                .map_err(|e| e.to_string()),
            ModelKind::Ols => OlsFitter::new(&method.formula, method.ols.clone())
                .map(|f| Fitter::Ols(Box::new(f)))
                .map_err(|e| e.to_string()),
        }
    }
}

/// A worker's state: the data buffers and one model workspace per method, built once, reused for every unit.
pub struct UnitWorker {
    data: Workspace,
    fitters: Vec<Fitter>,
    /// Term names already handed out, per method, so rows share them instead of allocating new strings.
    names: Vec<Names>,
}

impl UnitWorker {
    /// Build the workspaces for `study`; an error names the method whose model cannot be set up.
    pub fn new(study: &Study) -> Result<UnitWorker, (String, String)> {
        let fitters = study
            .methods
            .iter()
            .map(|m| Fitter::new(m).map_err(|e| (m.name.clone(), e)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(UnitWorker {
            data: study.program.workspace(),
            names: vec![Names::default(); fitters.len()],
            fitters,
        })
    }

    /// Generate replication `r` of condition `c` and fit every method to it, into `record` (a record of
    /// an earlier unit is reused: its vectors keep their capacity). Never fails: a data-generation error,
    /// a fit error or a panic inside a fit become the fits' status and message.
    pub fn run_unit(&mut self, study: &Study, c: usize, r: u64, record: &mut ReplicationRecord) {
        let started = Instant::now();
        record.condition = c;
        record.replication = r;
        record.fits.truncate(self.fitters.len());
        while record.fits.len() < self.fitters.len() {
            record.fits.push(FitRecord {
                method: record.fits.len(),
                status: FitStatus::Error,
                message: None,
                iterations: 0,
                seconds: 0.0,
                estimates: Vec::new(),
            });
        }
        match study.generate(&mut self.data, c, r) {
            Ok(()) => {
                for (m, fit) in record.fits.iter_mut().enumerate() {
                    self.fit_method(study, m, c, fit);
                }
            }
            Err(message) => {
                let message = format!("data generation failed: {message}");
                for (m, fit) in record.fits.iter_mut().enumerate() {
                    set_error(fit, m, message.clone(), 0.0);
                }
            }
        }
        record.seconds = started.elapsed().as_secs_f64();
    }

    fn fit_method(&mut self, study: &Study, m: usize, c: usize, record: &mut FitRecord) {
        let started = Instant::now();
        let data = self.data.data();
        let names = &mut self.names[m];
        let fitter = &mut self.fitters[m];
        record.method = m;
        record.estimates.clear();
        IN_FIT.with(|f| f.set(true));
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| match fitter {
            Fitter::Lmm(f) => f
                .fit(&data)
                .map(|fit| lmm_record(fit, study, c, names, record))
                .map_err(|e| e.to_string()),
            Fitter::Ols(f) => f
                .fit(&data)
                .map(|fit| coefficients_record(&fit.coefficients, study, c, names, record))
                .map_err(|e| e.to_string()),
        }));
        IN_FIT.with(|f| f.set(false));
        let seconds = started.elapsed().as_secs_f64();
        match outcome {
            Ok(Ok(())) => record.seconds = seconds,
            Ok(Err(message)) => set_error(record, m, message, seconds),
            Err(payload) => {
                // A panic leaves the workspace in an unknown state: rebuild it before the next unit.
                if let Ok(fresh) = Fitter::new(&study.methods[m]) {
                    self.fitters[m] = fresh;
                }
                let message = format!(
                    "internal error (panic) in the fit: {}",
                    panic_message(&payload)
                );
                set_error(record, m, message, seconds);
            }
        }
    }
}

fn set_error(record: &mut FitRecord, method: usize, message: String, seconds: f64) {
    record.method = method;
    record.status = FitStatus::Error;
    record.message = Some(message);
    record.iterations = 0;
    record.seconds = seconds;
    record.estimates.clear();
}

fn lmm_record(fit: &LmmFit, study: &Study, c: usize, names: &mut Names, record: &mut FitRecord) {
    coefficients_record(&fit.coefficients, study, c, names, record);
    record.iterations = fit.evaluations as u64;
    let offset = fit.coefficients.len();
    for (i, vc) in fit.varcorr.iter().enumerate() {
        let term = names.variance(offset + i, vc);
        record.estimates.push(EstimateRecord {
            truth: study.truth(c, &term),
            term,
            kind: TermKind::Variance,
            estimate: vc.sd_or_cor,
            se: None,
            df: None,
            ci_lower: None,
            ci_upper: None,
            p_value: None,
        });
    }
    (record.status, record.message) = if !fit.converged {
        (FitStatus::NotConverged, Some(fit.messages.join("; ")))
    } else if fit.singular {
        (
            FitStatus::Singular,
            Some("singular fit: a variance component is (nearly) zero".to_string()),
        )
    } else {
        (FitStatus::Ok, None)
    };
}

fn coefficients_record(
    coefficients: &[Coefficient],
    study: &Study,
    c: usize,
    names: &mut Names,
    record: &mut FitRecord,
) {
    for (i, k) in coefficients.iter().enumerate() {
        let term = names.get(i, &k.term);
        record.estimates.push(EstimateRecord {
            truth: study.truth(c, &term),
            term,
            kind: TermKind::Fixed,
            estimate: k.estimate,
            se: Some(k.se),
            df: k.df.is_finite().then_some(k.df),
            ci_lower: Some(k.ci_lower),
            ci_upper: Some(k.ci_upper),
            p_value: Some(k.p_value),
        });
    }
    record.status = FitStatus::Ok;
    record.message = None;
    record.iterations = 0;
}

/// Term names already handed out for one method, by position, so that rows share them instead of
/// allocating a new string per replication.
#[derive(Default, Clone)]
struct Names {
    slots: Vec<Arc<str>>,
    scratch: String,
}

impl Names {
    /// The name at `slot`, reusing the previous replication's `Arc` when the name is the same.
    fn get(&mut self, slot: usize, name: &str) -> Arc<str> {
        match self.slots.get(slot) {
            Some(n) if &**n == name => n.clone(),
            _ => {
                let n: Arc<str> = Arc::from(name);
                if slot < self.slots.len() {
                    self.slots[slot] = n.clone();
                } else {
                    self.slots.push(n.clone());
                }
                n
            }
        }
    }

    /// The stored name of variance component `vc` at `slot` (see [`write_variance_term`]).
    fn variance(&mut self, slot: usize, vc: &VarComp) -> Arc<str> {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        write_variance_term(&mut scratch, vc);
        let name = self.get(slot, &scratch);
        self.scratch = scratch;
        name
    }
}

/// The stored name of a variance component, as broom.mixed names them: `sd__(Intercept)|group`,
/// `cor__(Intercept).X|group`, and `sigma` for the residual SD.
pub fn variance_term(vc: &VarComp) -> String {
    let mut name = String::new();
    write_variance_term(&mut name, vc);
    name
}

/// [`variance_term`] appended to `out` (no allocation once `out` has grown).
fn write_variance_term(out: &mut String, vc: &VarComp) {
    use std::fmt::Write;
    // Writing into a String cannot fail.
    let _ = match (&vc.term1, &vc.term2) {
        (None, _) => write!(out, "sigma"),
        (Some(t1), None) => write!(out, "sd__{t1}|{}", vc.group),
        (Some(t1), Some(t2)) => write!(out, "cor__{t1}.{t2}|{}", vc.group),
    };
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

thread_local! {
    /// Set while a method's fit runs: its panics are caught and stored, so the hook stays quiet.
    static IN_FIT: Cell<bool> = const { Cell::new(false) };
}

/// Guard that silences the panic hook for panics inside fits (they are stored as errors) for its lifetime.
pub(super) struct QuietPanics {
    previous: Option<Arc<PanicHook>>,
}

type PanicHook = dyn Fn(&panic::PanicHookInfo<'_>) + Send + Sync;

/// Install a panic hook that stays quiet inside fits and defers to the previous hook elsewhere.
pub(super) fn quiet_panics_in_fits() -> QuietPanics {
    let previous: Arc<dyn Fn(&panic::PanicHookInfo<'_>) + Send + Sync> =
        Arc::from(panic::take_hook());
    let chained = previous.clone();
    panic::set_hook(Box::new(move |info| {
        if !IN_FIT.with(|f| f.get()) {
            chained(info);
        }
    }));
    QuietPanics {
        previous: Some(previous),
    }
}

impl Drop for QuietPanics {
    fn drop(&mut self) {
        if let Some(previous) = self.previous.take() {
            let _ = panic::take_hook();
            panic::set_hook(Box::new(move |info| previous(info)));
        }
    }
}
