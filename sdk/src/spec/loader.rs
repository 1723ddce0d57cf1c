//! Loading: mustache render with the scheduler env, then strict YAML, decoding and
//! validation. Pure except for [`load_file`], which reads the spec and its config
//! templates from disk.

use std::collections::BTreeSet;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::decode::{Cx, Locator, decode_service};
use super::error::{Diagnostic, Diags, LoadError, Location, SpecError};
use super::features::unsupported;
use super::model::ServiceSpec;
use super::validate::validate;
use super::yaml::{YamlError, parse_document};
use crate::template::{Env, Template, TemplateError};

/// A successfully loaded spec and what was learned on the way.
#[derive(Debug, Clone)]
pub struct LoadedSpec {
    /// The spec.
    pub spec: ServiceSpec,
    /// The svc.yml after mustache rendering.
    pub rendered: String,
    /// Template variables the spec mentions that `env` does not set (section names,
    /// or values inside sections that were off).
    pub env_unset_vars: Vec<String>,
    /// Non-fatal findings (ignored pod keys, PATH volumes, …).
    pub warnings: Vec<Diagnostic>,
    /// Features Plinth parses but cannot run yet (`not supported yet: <key>`).
    pub unsupported: Vec<Diagnostic>,
    /// Config templates that could not be read or do not parse (filled by
    /// [`load_file`]).
    pub template_problems: Vec<Diagnostic>,
    pub(crate) locs: Locator,
}

impl LoadedSpec {
    /// Whether Plinth can run this spec: no unsupported features and every config
    /// template readable. Loading succeeds without this (a spec can be described
    /// and inspected); deploying needs it.
    ///
    /// # Errors
    /// The unsupported features and template problems, as one [`LoadError`].
    pub fn check_runnable(&self) -> Result<(), LoadError> {
        let diagnostics: Vec<Diagnostic> = self
            .unsupported
            .iter()
            .chain(&self.template_problems)
            .cloned()
            .collect();
        if diagnostics.is_empty() {
            Ok(())
        } else {
            Err(LoadError { diagnostics })
        }
    }

    /// SHA-256 of the rendered text, hex.
    pub fn rendered_sha256(&self) -> String {
        let digest = Sha256::digest(self.rendered.as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

fn loc(file: Option<&str>, line: u32, col: Option<u32>, path: &str) -> Location {
    Location {
        file: file.map(str::to_string),
        line: Some(line),
        column: col,
        path: path.to_string(),
    }
}

fn template_error_line(e: &TemplateError) -> Option<u32> {
    match e {
        TemplateError::UnclosedTag { line }
        | TemplateError::EmptyTag { line }
        | TemplateError::UnclosedTripleMustache { line, .. }
        | TemplateError::MismatchedSectionEnd { line, .. }
        | TemplateError::UnopenedSectionEnd { line, .. }
        | TemplateError::UnclosedSection { line, .. }
        | TemplateError::UnsupportedTag { line, .. }
        | TemplateError::InvalidDelimiters { line, .. } => Some(*line),
        TemplateError::MissingValues(m) => m.first().map(|m| m.line),
    }
}

/// Loads a spec from text. `file` names it in diagnostics.
///
/// # Errors
/// A [`LoadError`] listing every problem with its location.
pub fn load_str(text: &str, env: &Env, file: Option<&str>) -> Result<LoadedSpec, LoadError> {
    let fail = |diagnostics: Vec<Diagnostic>| Err(LoadError { diagnostics });
    let template = match Template::parse(text) {
        Ok(t) => t,
        Err(e) => {
            let line = template_error_line(&e).unwrap_or(1);
            return fail(vec![Diagnostic {
                location: loc(file, line, None, ""),
                error: SpecError::TemplateSyntax(e),
            }]);
        }
    };
    let rendered = template.render(env);
    if !rendered.missing.is_empty() {
        return fail(
            rendered
                .missing
                .iter()
                .map(|m| Diagnostic {
                    location: loc(file, m.line, None, ""),
                    error: SpecError::MissingVariable {
                        name: m.name.clone(),
                    },
                })
                .collect(),
        );
    }
    let env_unset_vars: Vec<String> = template
        .variables()
        .into_iter()
        .filter(|v| v != "." && !env.contains_key(v))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let map_line = |l: u32| rendered.source_line(l);
    let root = match parse_document(&rendered.text) {
        Ok(Some(root)) => root,
        Ok(None) => {
            return fail(vec![Diagnostic {
                location: loc(file, 1, None, ""),
                error: SpecError::EmptySpec,
            }]);
        }
        Err(e) => {
            let (line, col, error) = match e {
                YamlError::Syntax { message, line, col } => {
                    (line, col, SpecError::YamlSyntax { message })
                }
                YamlError::DuplicateKey {
                    key,
                    line,
                    col,
                    first_line,
                } => (
                    line,
                    col,
                    SpecError::DuplicateKey {
                        key,
                        first_line: map_line(first_line),
                    },
                ),
                YamlError::ComplexKey { line, col } => (line, col, SpecError::ComplexKey),
                YamlError::MultipleDocuments { line } => (line, 1, SpecError::MultipleDocuments),
                YamlError::TooLarge { line } => (line, 1, SpecError::TooLarge),
            };
            return fail(vec![Diagnostic {
                location: loc(file, map_line(line), Some(col), ""),
                error,
            }]);
        }
    };
    let mut diags = Diags::default();
    let mut locs = Locator::new(file.map(str::to_string));
    let spec = {
        let mut cx = Cx {
            diags: &mut diags,
            locs: &mut locs,
            line_map: &map_line,
        };
        decode_service(&mut cx, &root)
    };
    let Some(spec) = spec else {
        return fail(diags.errors);
    };
    validate(&spec, &locs, &mut diags);
    if !diags.errors.is_empty() {
        let mut errors = diags.errors;
        errors.sort_by_key(|d| d.location.line.unwrap_or(u32::MAX));
        return fail(errors);
    }
    let unsupported = unsupported(&spec, &locs);
    Ok(LoadedSpec {
        spec,
        rendered: rendered.text,
        env_unset_vars,
        warnings: diags.warnings,
        unsupported,
        template_problems: Vec::new(),
        locs,
    })
}

/// Reads `path`, loads it with `env`, then reads every config template (relative to
/// the spec's directory) into the spec and checks its mustache syntax. Template
/// problems do not fail the load: they are listed in
/// [`LoadedSpec::template_problems`] and fail [`LoadedSpec::check_runnable`].
///
/// # Errors
/// A [`LoadError`]; an unreadable spec file is [`SpecError::ReadFile`].
pub fn load_file(path: &Path, env: &Env) -> Result<LoadedSpec, LoadError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| LoadError {
        diagnostics: vec![Diagnostic {
            location: Location {
                file: Some(name.clone()),
                ..Location::default()
            },
            error: SpecError::ReadFile {
                path: name.clone(),
                message: e.to_string(),
            },
        }],
    })?;
    let mut loaded = load_str(&text, env, Some(&name))?;
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let mut problems = Vec::new();
    for pod in &mut loaded.spec.pods {
        for task in &mut pod.tasks {
            for (cname, config) in &mut task.configs {
                let key = format!(
                    "pods.{}.tasks.{}.configs.{cname}.template",
                    pod.name, task.name
                );
                let tpath = dir.join(&config.template);
                match std::fs::read_to_string(&tpath) {
                    Ok(content) => {
                        if let Err(e) = Template::parse(&content) {
                            problems.push(Diagnostic {
                                location: Location {
                                    file: Some(tpath.display().to_string()),
                                    line: template_error_line(&e),
                                    column: None,
                                    path: key,
                                },
                                error: SpecError::TemplateSyntax(e),
                            });
                        }
                        config.content = Some(content);
                    }
                    Err(e) => problems.push(Diagnostic {
                        location: loaded.locs.locate(&key),
                        error: SpecError::ReadFile {
                            path: tpath.display().to_string(),
                            message: format!(
                                "{e} (config templates are read relative to the spec file)"
                            ),
                        },
                    }),
                }
            }
        }
    }
    loaded.template_problems = problems;
    Ok(loaded)
}

/// Validates a spec built in code (no file positions: diagnostics carry key paths).
///
/// # Errors
/// A [`LoadError`] listing every problem.
pub fn validate_spec(spec: &ServiceSpec) -> Result<(), LoadError> {
    let mut diags = Diags::default();
    validate(spec, &Locator::new(None), &mut diags);
    if diags.errors.is_empty() {
        Ok(())
    } else {
        Err(LoadError {
            diagnostics: diags.errors,
        })
    }
}
