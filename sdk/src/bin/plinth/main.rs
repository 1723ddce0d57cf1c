//! The `plinth` command line: a thin dispatcher over subcommands.

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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Spec(cmd) => spec::run(cmd),
    }
}
