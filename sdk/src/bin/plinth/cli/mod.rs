//! The operator commands of `plinth`: talk to a running scheduler's API.
//! One file per command group; [`client`] speaks HTTP. Tables for people by
//! default, the server's JSON with `--json`. Errors are printed plainly
//! (`error: 404 Not Found: Plan foo not found`) with a non-zero exit.

pub(crate) mod client;
pub(crate) mod config;
pub(crate) mod debug;
pub(crate) mod endpoints;
pub(crate) mod health;
pub(crate) mod plan;
pub(crate) mod pod;
pub(crate) mod state;
pub(crate) mod uninstall;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use http::StatusCode;

pub(crate) use client::Client;

/// How to reach the scheduler (global flags).
#[derive(Debug, Clone, Args)]
pub(crate) struct ClientArgs {
    /// The scheduler's API, e.g. http://127.0.0.1:8080.
    #[arg(
        long,
        global = true,
        env = "PLINTH_URL",
        default_value = "http://127.0.0.1:8080",
        value_name = "URL"
    )]
    pub(crate) url: String,
    /// A file holding the API bearer token.
    #[arg(long = "token-file", global = true, value_name = "FILE")]
    pub(crate) token_file: Option<PathBuf>,
    /// The API bearer token (prefer --token-file: the environment is safer than argv).
    #[arg(
        long,
        global = true,
        env = "PLINTH_TOKEN",
        hide_env_values = true,
        hide = true
    )]
    pub(crate) token: Option<String>,
    /// Print the server's JSON instead of tables.
    #[arg(long, global = true)]
    pub(crate) json: bool,
}

/// What went wrong, as the user sees it.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// The server answered with an error.
    #[error("{status}: {message}")]
    Server {
        /// HTTP status.
        status: StatusCode,
        /// The server's message.
        message: String,
    },
    /// The server could not be reached.
    #[error("cannot reach {url}: {message}")]
    Connect {
        /// The URL.
        url: String,
        /// Why.
        message: String,
    },
    /// The answer made no sense.
    #[error("{0}")]
    BadResponse(String),
    /// The command line is wrong.
    #[error("{0}")]
    Usage(String),
    /// A watched plan ended in ERROR.
    #[error("plan {0} failed")]
    PlanFailed(String),
}

/// Runs an async command on a fresh runtime and turns its result into an
/// exit code (1 on any error, printed on stderr).
pub(crate) fn run<F>(f: F) -> ExitCode
where
    F: Future<Output = Result<(), CliError>>,
{
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(f) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// Prints JSON, pretty.
pub(crate) fn print_json(value: &serde_json::Value) {
    match serde_json::to_string_pretty(value) {
        Ok(text) => println!("{text}"),
        Err(_) => println!("{value}"),
    }
}

/// Formats rows under headers in aligned columns.
pub(crate) fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                out.push_str(cell);
            } else {
                let w = widths.get(i).copied().unwrap_or(0);
                out.push_str(&format!("{cell:<w$}  "));
            }
        }
        out.trim_end().to_string()
    };
    let mut out = line(headers.to_vec());
    for row in rows {
        out.push('\n');
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// A JSON value as text for a table cell.
pub(crate) fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Prints a list of strings (a JSON array) one per line, or as JSON.
pub(crate) fn print_list(value: &serde_json::Value, json: bool) {
    if json {
        print_json(value);
        return;
    }
    for item in value.as_array().into_iter().flatten() {
        println!("{}", text(item));
    }
}
