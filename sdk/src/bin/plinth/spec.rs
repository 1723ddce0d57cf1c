//! `plinth spec validate|render`.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use plinth::spec::envfile::load_env;
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

fn build_env(args: &SpecArgs) -> anyhow::Result<BTreeMap<String, String>> {
    Ok(load_env(&args.env_files, &args.env)?)
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
