//! The `plinth` command line: a thin dispatcher over subcommands — service
//! specs (`spec`), running a scheduler (`scheduler`), and the operator
//! commands that talk to a running scheduler's API (`plan`, `pod`,
//! `endpoints`, `config`, `state`, `health`, `debug`; see `cli/`).

mod cli;
mod config_diff;
mod scheduler;
mod spec;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// jemalloc, configured in `.cargo/config.toml` (one arena, background
/// purging of pages free for a second): after a 10,000-task deploy the
/// scheduler's resident size drops back near what it holds (~145 MB), where
/// glibc's malloc kept the deploy's garbage (~212 MB).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Plinth: stateful services on Apache Mesos.
#[derive(Debug, Parser)]
#[command(name = "plinth", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// An operator command group with the flags that reach the scheduler.
#[derive(Debug, clap::Args)]
struct Operator<C: clap::Subcommand> {
    #[command(subcommand)]
    command: C,
    #[command(flatten)]
    client: cli::ClientArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Work with service specs (svc.yml).
    #[command(subcommand)]
    Spec(spec::SpecCommand),
    /// Run a service's scheduler against a Mesos master.
    Scheduler(scheduler::SchedulerArgs),
    /// Plans of a running scheduler.
    Plan(Operator<cli::plan::PlanCommand>),
    /// Pods of a running scheduler.
    Pod(Operator<cli::pod::PodCommand>),
    /// Advertised endpoints (all names, or one endpoint's addresses).
    Endpoints {
        /// Endpoint name.
        name: Option<String>,
        #[command(flatten)]
        client: cli::ClientArgs,
    },
    /// Stored configurations.
    Config(Operator<cli::config::ConfigCommand>),
    /// Stored scheduler state.
    State(Operator<cli::state::StateCommand>),
    /// The service's health code (exit 0 only when running).
    Health {
        #[command(flatten)]
        client: cli::ClientArgs,
    },
    /// Debugging views.
    Debug(Operator<cli::debug::DebugCommand>),
    /// Uninstall the service of a running scheduler: every task killed,
    /// volume destroyed, reservation released, the framework torn down and
    /// the state deleted; then the scheduler exits.
    Uninstall {
        /// The service's name, as a confirmation (must match the scheduler's).
        service: String,
        #[command(flatten)]
        client: cli::ClientArgs,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Spec(cmd) => spec::run(cmd),
        Command::Scheduler(args) => scheduler::run(args),
        Command::Plan(op) => cli::run(cli::plan::run(op.command, &op.client)),
        Command::Pod(op) => cli::run(cli::pod::run(op.command, &op.client)),
        Command::Endpoints { name, client } => cli::run(cli::endpoints::run(name, &client)),
        Command::Config(Operator {
            command: cli::config::ConfigCommand::Diff(args),
            client,
        }) => config_diff::run(
            args,
            &client.url,
            client.token_file.as_deref(),
            client.token.as_deref(),
            client.json,
        ),
        Command::Config(op) => cli::run(cli::config::run(op.command, &op.client)),
        Command::State(op) => cli::run(cli::state::run(op.command, &op.client)),
        Command::Health { client } => cli::run(cli::health::run(&client)),
        Command::Debug(op) => cli::run(cli::debug::run(op.command, &op.client)),
        Command::Uninstall { service, client } => cli::run(cli::uninstall::run(service, &client)),
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
