//! The registry of method kinds: turns each `[methods.NAME]` table into a configured method.

use std::sync::Arc;

use toml::de::DeTable;

use super::table::{choice, MethodTable};
use super::{ExternalKind, GlmKind, GlmmKind, LmmKind, MethodKind, OlsKind, StudyMethod};
use crate::diagnostic::did_you_mean;
use crate::reader::Reader;

/// The kinds of method a study may use, by the name in `model = "..."`.
#[derive(Clone)]
pub struct Registry {
    kinds: Vec<Arc<dyn MethodKind>>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry::builtin()
    }
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

impl Registry {
    /// The built-in kinds: `lmm`, `ols`, `glm` and `glmm`, and the kinds that run your own code: `python`, `r` and
    /// `command` (see docs/methods.md).
    pub fn builtin() -> Registry {
        Registry::empty()
            .with(LmmKind)
            .with(OlsKind)
            .with(GlmKind)
            .with(GlmmKind)
            .with(ExternalKind::python())
            .with(ExternalKind::r())
            .with(ExternalKind::command())
    }

    /// No kinds at all.
    pub fn empty() -> Registry {
        Registry { kinds: Vec::new() }
    }

    /// This registry with `kind` added (replacing a kind of the same name).
    pub fn with(mut self, kind: impl MethodKind + 'static) -> Registry {
        self.register(Arc::new(kind));
        self
    }

    /// Add `kind`, replacing a kind of the same name.
    pub fn register(&mut self, kind: Arc<dyn MethodKind>) {
        self.kinds.retain(|k| k.name() != kind.name());
        self.kinds.push(kind);
    }

    /// The kinds' names, in the order they were registered.
    pub fn names(&self) -> Vec<&str> {
        self.kinds.iter().map(|k| k.name()).collect()
    }

    /// The kind called `name`.
    pub fn kind(&self, name: &str) -> Option<&Arc<dyn MethodKind>> {
        self.kinds.iter().find(|k| k.name() == name)
    }

    /// Read every table of `[methods]`, in file order; problems go to `r`.
    pub(crate) fn methods(
        &self,
        r: &mut Reader<'_>,
        methods: &DeTable<'_>,
        level: f64,
        directory: &std::path::Path,
    ) -> Vec<StudyMethod> {
        let mut out = Vec::new();
        for (key, v) in r.entries(methods) {
            let name = key.get_ref().to_string();
            let section = format!("[methods.{name}]");
            let Some(t) = r.table(v, &section) else {
                continue;
            };
            let Some(kind) = self.model(r, t, key.span(), &section) else {
                continue;
            };
            self.check_keys(r, t, kind.as_ref(), &section);
            let mut table = MethodTable::new(r, t, name.clone(), key.span(), level, directory);
            if let Some(spec) = kind.configure(&mut table) {
                let span = table.span.clone();
                out.push(StudyMethod::new(name, spec, span));
            }
        }
        out
    }

    /// The kind named by the table's `model`, reported when missing or unknown.
    fn model(
        &self,
        r: &mut Reader<'_>,
        t: &DeTable<'_>,
        key_span: std::ops::Range<usize>,
        section: &str,
    ) -> Option<Arc<dyn MethodKind>> {
        let names = self.names();
        match Reader::get(t, "model") {
            Some(v) => choice(r, v, "`model`", &names).map(|k| self.kinds[k].clone()),
            None => {
                let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
                let listing = match quoted.split_last() {
                    Some((last, [])) => last.clone(),
                    Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
                    None => "\"...\"".to_string(),
                };
                r.error(key_span, format!("missing key `model` in {section}"))
                    .notes
                    .push(format!("model = {listing}"));
                None
            }
        }
    }

    /// Every key that `kind` does not take is reported: as belonging to another kind when one takes it,
    /// else as unknown, with a suggestion.
    fn check_keys(
        &self,
        r: &mut Reader<'_>,
        t: &DeTable<'_>,
        kind: &dyn MethodKind,
        section: &str,
    ) {
        let mut known = vec!["model"];
        known.extend_from_slice(kind.keys());
        for (key, value) in r.entries(t) {
            let name = key.get_ref().as_ref();
            if known.contains(&name) {
                continue;
            }
            if let Some(other) = self.kinds.iter().find(|k| k.keys().contains(&name)) {
                let message = format!("`{name}` applies to model = \"{}\" only", other.name());
                r.error(value.span(), message);
                continue;
            }
            let help = did_you_mean(name, known.iter().copied());
            let listing = format!("known keys in {section}: {}", known.join(", "));
            r.error(key.span(), format!("unknown key `{name}` in {section}"))
                .notes
                .extend(help.into_iter().chain([listing]));
        }
    }
}
