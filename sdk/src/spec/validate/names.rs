//! Service, pod and task names.

use super::{Validator, pod_path, task_path};
use crate::spec::error::SpecError;
use crate::spec::model::ServiceSpec;

/// Pod and task names end up in task names (`<pod>-<index>-<task>`), task IDs
/// (`<service>__<task name>__<uuid>`), DNS names and env variable names.
fn check_component(v: &mut Validator<'_>, what: &str, name: &str, path: &str) {
    let ok_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let ok_ends = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    if name.is_empty() || !ok_chars || !ok_ends || name.contains("__") {
        v.invalid(
            path,
            name,
            format!(
                "{what} names use letters, digits, '-' and '_', start with a letter or digit, and never contain '__'"
            ),
        );
    }
}

pub(super) fn check(spec: &ServiceSpec, v: &mut Validator<'_>) {
    let name = &spec.name;
    if !name.is_empty() {
        if name.contains("__") {
            v.invalid(
                "name",
                name,
                "service names cannot contain '__' (it separates fields in task IDs)",
            );
        }
        if name
            .chars()
            .any(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/')))
        {
            v.invalid(
                "name",
                name,
                "service names use letters, digits, '-', '_', '.' and '/' only",
            );
        }
        let dns_len = name.replace('/', "").len();
        if dns_len > 63 {
            v.invalid(
                "name",
                name,
                format!(
                    "service names (without '/') must be at most 63 characters for DNS to work; this one has {dns_len}"
                ),
            );
        }
    }
    for pod in &spec.pods {
        check_component(v, "pod", &pod.name, &pod_path(&pod.name));
        if pod.tasks.is_empty() {
            v.error(
                &pod_path(&pod.name),
                SpecError::MissingKey {
                    key: "tasks".into(),
                    hint: format!(": pod '{}' needs at least one task", pod.name),
                },
            );
        }
        for task in &pod.tasks {
            check_component(v, "task", &task.name, &task_path(&pod.name, &task.name));
        }
    }
}
