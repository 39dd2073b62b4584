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
    names: Vec<Vec<Arc<str>>>,
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
            names: vec![Vec::new(); fitters.len()],
            fitters,
        })
    }

    /// Generate replication `r` of condition `c` and fit every method to it. Never fails: a data-generation
    /// error, a fit error or a panic inside a fit become the fits' status and message.
    pub fn run_unit(&mut self, study: &Study, c: usize, r: u64) -> ReplicationRecord {
        let started = Instant::now();
        let mut fits = Vec::with_capacity(self.fitters.len());
        match study.generate(&mut self.data, c, r) {
            Ok(()) => {
                for m in 0..self.fitters.len() {
                    fits.push(self.fit_method(study, m, c));
                }
            }
            Err(message) => {
                let message = format!("data generation failed: {message}");
                for m in 0..self.fitters.len() {
                    fits.push(error_fit(m, message.clone(), 0.0));
                }
            }
        }
        ReplicationRecord {
            condition: c,
            replication: r,
            seconds: started.elapsed().as_secs_f64(),
            fits,
        }
    }

    fn fit_method(&mut self, study: &Study, m: usize, c: usize) -> FitRecord {
        let started = Instant::now();
        let data = self.data.data();
        let names = &mut self.names[m];
        let fitter = &mut self.fitters[m];
        IN_FIT.with(|f| f.set(true));
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| match fitter {
            Fitter::Lmm(f) => f
                .fit(&data)
                .map(|fit| lmm_record(m, fit, study, c, names))
                .map_err(|e| e.to_string()),
            Fitter::Ols(f) => f
                .fit(&data)
                .map(|fit| coefficients_record(m, &fit.coefficients, study, c, names))
                .map_err(|e| e.to_string()),
        }));
        IN_FIT.with(|f| f.set(false));
        let seconds = started.elapsed().as_secs_f64();
        match outcome {
            Ok(Ok(mut record)) => {
                record.seconds = seconds;
                record
            }
            Ok(Err(message)) => error_fit(m, message, seconds),
            Err(payload) => {
                // A panic leaves the workspace in an unknown state: rebuild it before the next unit.
                if let Ok(fresh) = Fitter::new(&study.methods[m]) {
                    self.fitters[m] = fresh;
                }
                error_fit(
                    m,
                    format!(
                        "internal error (panic) in the fit: {}",
                        panic_message(&payload)
                    ),
                    seconds,
                )
            }
        }
    }
}

fn error_fit(method: usize, message: String, seconds: f64) -> FitRecord {
    FitRecord {
        method,
        status: FitStatus::Error,
        message: Some(message),
        iterations: 0,
        seconds,
        estimates: Vec::new(),
    }
}

fn lmm_record(
    m: usize,
    fit: &LmmFit,
    study: &Study,
    c: usize,
    names: &mut Vec<Arc<str>>,
) -> FitRecord {
    let mut record = coefficients_record(m, &fit.coefficients, study, c, names);
    record.iterations = fit.evaluations as u64;
    let offset = fit.coefficients.len();
    for (i, vc) in fit.varcorr.iter().enumerate() {
        let term = shared_name(names, offset + i, &variance_term(vc));
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
    record
}

fn coefficients_record(
    m: usize,
    coefficients: &[Coefficient],
    study: &Study,
    c: usize,
    names: &mut Vec<Arc<str>>,
) -> FitRecord {
    let estimates = coefficients
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let term = shared_name(names, i, &k.term);
            EstimateRecord {
                truth: study.truth(c, &term),
                term,
                kind: TermKind::Fixed,
                estimate: k.estimate,
                se: Some(k.se),
                df: k.df.is_finite().then_some(k.df),
                ci_lower: Some(k.ci_lower),
                ci_upper: Some(k.ci_upper),
                p_value: Some(k.p_value),
            }
        })
        .collect();
    FitRecord {
        method: m,
        status: FitStatus::Ok,
        message: None,
        iterations: 0,
        seconds: 0.0,
        estimates,
    }
}

/// The stored name of a variance component, as broom.mixed names them: `sd__(Intercept)|group`,
/// `cor__(Intercept).X|group`, and `sigma` for the residual SD.
pub fn variance_term(vc: &VarComp) -> String {
    match (&vc.term1, &vc.term2) {
        (None, _) => "sigma".to_string(),
        (Some(t1), None) => format!("sd__{t1}|{}", vc.group),
        (Some(t1), Some(t2)) => format!("cor__{t1}.{t2}|{}", vc.group),
    }
}

/// The name at `slot`, reusing the previous replication's `Arc` when the name is the same.
fn shared_name(names: &mut Vec<Arc<str>>, slot: usize, name: &str) -> Arc<str> {
    match names.get(slot) {
        Some(n) if &**n == name => n.clone(),
        _ => {
            let n: Arc<str> = Arc::from(name);
            if slot < names.len() {
                names[slot] = n.clone();
            } else {
                names.push(n.clone());
            }
            n
        }
    }
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
