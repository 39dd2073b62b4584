//! One unit of work: generate one replication's data set, fit every method, collect the rows.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::time::Instant;

use crate::lang::Workspace;
use crate::method::{Context, Estimates, Method, TermNames};
use crate::store::{FitRecord, FitStatus, ReplicationRecord};
use crate::study::Study;

/// A worker's state: the data buffers and one model workspace per method, built once, reused for every unit.
pub struct UnitWorker {
    data: Workspace,
    methods: Vec<Box<dyn Method>>,
    /// Term names already handed out, per method, so rows share them instead of allocating new strings.
    names: Vec<TermNames>,
}

impl UnitWorker {
    /// Build the workspaces for `study`; an error names the method whose model cannot be set up.
    pub fn new(study: &Study) -> Result<UnitWorker, (String, String)> {
        let methods = study
            .methods
            .iter()
            .map(|m| m.spec.build().map_err(|e| (m.name.clone(), e)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(UnitWorker {
            data: study.program.workspace(),
            names: vec![TermNames::default(); methods.len()],
            methods,
        })
    }

    /// Generate replication `r` of condition `c` and fit every method to it, into `record` (a record of
    /// an earlier unit is reused: its vectors keep their capacity). Never fails: a data-generation error,
    /// a fit error or a panic inside a fit become the fits' status and message.
    pub fn run_unit(&mut self, study: &Study, c: usize, r: u64, record: &mut ReplicationRecord) {
        self.run_methods(study, (c, r), None, record);
    }

    /// [`UnitWorker::run_unit`] for some methods only (`Some(methods)`, indices in the study): the fits a
    /// grown study adds to a stored replication, written as a partial record.
    pub fn run_methods(
        &mut self,
        study: &Study,
        (c, r): (usize, u64),
        methods: Option<&[usize]>,
        record: &mut ReplicationRecord,
    ) {
        let started = Instant::now();
        record.condition = c;
        record.replication = r;
        record.partial = methods.is_some();
        let count = methods.map_or(self.methods.len(), <[usize]>::len);
        record.fits.truncate(count);
        while record.fits.len() < count {
            record.fits.push(FitRecord {
                method: record.fits.len(),
                status: FitStatus::Error,
                message: None,
                iterations: 0,
                seconds: 0.0,
                estimates: Vec::new(),
            });
        }
        let method_of = |k: usize| methods.map_or(k, |m| m[k]);
        match study.generate(&mut self.data, c, r) {
            Ok(()) => {
                for (k, fit) in record.fits.iter_mut().enumerate() {
                    self.fit_method(study, method_of(k), (c, r), fit);
                }
            }
            Err(message) => {
                let message = format!("data generation failed: {message}");
                for (k, fit) in record.fits.iter_mut().enumerate() {
                    set_error(fit, method_of(k), message.clone(), 0.0);
                }
            }
        }
        record.seconds = started.elapsed().as_secs_f64();
    }

    fn fit_method(
        &mut self,
        study: &Study,
        m: usize,
        (c, r): (usize, u64),
        record: &mut FitRecord,
    ) {
        let started = Instant::now();
        let data = self.data.data();
        let method = &mut self.methods[m];
        let parameters = study.conditions().get(c).map_or(&[][..], |c| &c.values);
        let mut context = Context::new(parameters, c, r, study.seed, study.methods[m].stream_key)
            .with_condition_stream(study.condition_stream(c));
        record.method = m;
        record.estimates.clear();
        let mut estimates = Estimates::new(&mut record.estimates, &mut self.names[m]);
        IN_FIT.with(|f| f.set(true));
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
            method.fit(&data, &mut context, &mut estimates)
        }));
        IN_FIT.with(|f| f.set(false));
        let seconds = started.elapsed().as_secs_f64();
        match outcome {
            Ok(Ok(outcome)) => {
                for e in &mut record.estimates {
                    e.truth = study.truth(c, &e.term);
                }
                record.status = outcome.status;
                record.message = outcome.message;
                record.iterations = outcome.iterations;
                record.seconds = seconds;
            }
            Ok(Err(failure)) => set_error(record, m, failure.0, seconds),
            Err(payload) => {
                // A panic leaves the workspace in an unknown state: rebuild it before the next unit.
                if let Ok(fresh) = study.methods[m].spec.build() {
                    self.methods[m] = fresh;
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
    /// Set while a method's fit runs: its panics are caught and stored (see [`super::in_method_fit`]).
    static IN_FIT: Cell<bool> = const { Cell::new(false) };
}

/// Whether this thread is inside a method's fit.
pub(super) fn in_fit() -> bool {
    IN_FIT.with(|f| f.get())
}
