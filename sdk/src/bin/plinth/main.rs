//! The `plinth` command line: a thin dispatcher over subcommands.

mod scheduler;
mod spec;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Plinth: stateful services on Apache Mesos.
#[derive(Debug, Parser)]
#[command(name = "plinth", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Work with service specs (svc.yml).
    #[command(subcommand)]
    Spec(spec::SpecCommand),
    /// Run a service's scheduler against a Mesos master.
    Scheduler(scheduler::SchedulerArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Spec(cmd) => spec::run(cmd),
        Command::Scheduler(args) => scheduler::run(args),
    }
}

/// Logs to stderr; `RUST_LOG` filters (default `info`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}
