//! `plinth spec validate|render`.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use plinth::spec::{LoadedSpec, load_file, report};

/// Spec subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum SpecCommand {
    /// Check a spec: exit 0 when valid, 1 with a list of problems.
    Validate(SpecArgs),
    /// Print the resolved spec as JSON.
    Render(SpecArgs),
}

/// A spec file and the variables it is rendered with.
#[derive(Debug, Args)]
pub(crate) struct SpecArgs {
    /// The svc.yml file.
    file: PathBuf,
    /// A file of KEY=VALUE lines (blank lines and '#' comments ignored); repeatable.
    #[arg(long = "env-file", value_name = "FILE")]
    env_files: Vec<PathBuf>,
    /// One variable, KEY=VALUE; repeatable; wins over env files.
    #[arg(long = "env", value_name = "KEY=VALUE")]
    env: Vec<String>,
}

/// Parses env-file text: `KEY=VALUE` per line, value verbatim to end of line.
fn parse_env_file(
    text: &str,
    path: &Path,
    env: &mut BTreeMap<String, String>,
) -> anyhow::Result<()> {
    for (i, raw) in text.lines().enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            bail!(
                "{}:{}: expected KEY=VALUE, found {line:?}",
                path.display(),
                i + 1
            );
        };
        let key = k.trim();
        if key.is_empty() {
            bail!("{}:{}: empty variable name", path.display(), i + 1);
        }
        env.insert(key.to_string(), v.to_string());
    }
    Ok(())
}

fn build_env(args: &SpecArgs) -> anyhow::Result<BTreeMap<String, String>> {
    let mut env = BTreeMap::new();
    for f in &args.env_files {
        let text = std::fs::read_to_string(f)
            .with_context(|| format!("cannot read env file {}", f.display()))?;
        parse_env_file(&text, f, &mut env)?;
    }
    for kv in &args.env {
        let Some((k, v)) = kv.split_once('=') else {
            bail!("--env {kv:?}: expected KEY=VALUE");
        };
        env.insert(k.trim().to_string(), v.to_string());
    }
    Ok(env)
}

fn load(args: &SpecArgs) -> Result<(LoadedSpec, BTreeMap<String, String>), ExitCode> {
    let env = match build_env(args) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Err(ExitCode::from(2));
        }
    };
    match load_file(&args.file, &env) {
        Ok(l) => Ok((l, env)),
        Err(e) => {
            eprintln!("{e}");
            Err(ExitCode::from(1))
        }
    }
}

pub(crate) fn run(cmd: SpecCommand) -> ExitCode {
    match cmd {
        SpecCommand::Validate(args) => {
            let (loaded, _) = match load(&args) {
                Ok(x) => x,
                Err(code) => return code,
            };
            for w in &loaded.warnings {
                eprintln!("warning: {w}");
            }
            if let Err(e) = loaded.check_runnable() {
                eprintln!("{e}");
                return ExitCode::from(1);
            }
            let pods = loaded.spec.pods.len();
            let steps = loaded.spec.deploy_step_names().len();
            println!(
                "{}: valid (service '{}', {pods} pod type{}, {steps} deploy step{})",
                args.file.display(),
                loaded.spec.name,
                if pods == 1 { "" } else { "s" },
                if steps == 1 { "" } else { "s" }
            );
            ExitCode::SUCCESS
        }
        SpecCommand::Render(args) => {
            let (loaded, env) = match load(&args) {
                Ok(x) => x,
                Err(code) => return code,
            };
            for w in loaded
                .warnings
                .iter()
                .chain(&loaded.unsupported)
                .chain(&loaded.template_problems)
            {
                eprintln!("warning: {w}");
            }
            let report = report::describe(&loaded, &env);
            match serde_json::to_string_pretty(&report) {
                Ok(json) => {
                    let mut out = std::io::stdout().lock();
                    if writeln!(out, "{json}").is_err() {
                        return ExitCode::from(1);
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: cannot encode the report: {e}");
                    ExitCode::from(1)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_file_values_are_verbatim() {
        let mut env = BTreeMap::new();
        parse_env_file(
            "# c\n\nA=1\nB=[[\"hostname\", \"UNIQUE\"]]\nC=\nD=x=y \n",
            Path::new("f"),
            &mut env,
        )
        .unwrap();
        assert_eq!(env["B"], "[[\"hostname\", \"UNIQUE\"]]");
        assert_eq!(env["C"], "");
        assert_eq!(env["D"], "x=y ");
        assert!(parse_env_file("nope\n", Path::new("f"), &mut env).is_err());
    }
}
