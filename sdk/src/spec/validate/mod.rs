//! Semantic validation of a decoded spec: what dcos-commons checks when it builds a
//! ServiceSpec and its plans (names, counts, resources, volumes, ports, placement,
//! plan references), reported with the key path and line of the offending value.

mod names;
mod plans;
mod pods;
mod resources;

use super::decode::Locator;
use super::error::{Diags, SpecError};
use super::model::ServiceSpec;

/// Runs every check, adding diagnostics to `diags`.
pub(crate) fn validate(spec: &ServiceSpec, locs: &Locator, diags: &mut Diags) {
    let mut v = Validator { locs, diags };
    names::check(spec, &mut v);
    pods::check(spec, &mut v);
    resources::check(spec, &mut v);
    plans::check(spec, &mut v);
}

pub(crate) struct Validator<'a> {
    locs: &'a Locator,
    diags: &'a mut Diags,
}

impl Validator<'_> {
    pub(crate) fn error(&mut self, path: &str, error: SpecError) {
        let loc = self.locs.locate(path);
        self.diags.error(loc, error);
    }

    pub(crate) fn warn(&mut self, path: &str, error: SpecError) {
        let loc = self.locs.locate(path);
        self.diags.warn(loc, error);
    }

    pub(crate) fn invalid(&mut self, path: &str, value: &str, reason: impl Into<String>) {
        self.error(
            path,
            SpecError::InvalidValue {
                value: value.to_string(),
                reason: reason.into(),
            },
        );
    }
}

/// `[A-Za-z_][A-Za-z0-9_]*`: a portable environment variable name.
pub(crate) fn is_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

pub(crate) fn pod_path(pod: &str) -> String {
    format!("pods.{pod}")
}

pub(crate) fn task_path(pod: &str, task: &str) -> String {
    format!("pods.{pod}.tasks.{task}")
}
