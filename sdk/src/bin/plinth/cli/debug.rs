//! `plinth debug offers`: why each pending pod was not placed, per agent.

use clap::Subcommand;

use super::{CliError, Client, ClientArgs, print_json, table, text};

/// Debug commands.
#[derive(Debug, Subcommand)]
pub(crate) enum DebugCommand {
    /// The last offer cycle's evaluation outcomes.
    Offers,
}

pub(crate) async fn run(cmd: DebugCommand, args: &ClientArgs) -> Result<(), CliError> {
    let client = Client::new(args)?;
    match cmd {
        DebugCommand::Offers => {
            let value = client.get("/v2/debug/offers").await?.json()?;
            if args.json {
                print_json(&value);
                return Ok(());
            }
            let rows: Vec<Vec<String>> = value
                .as_array()
                .into_iter()
                .flatten()
                .map(|o| {
                    let failures: Vec<String> = o["stages"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter(|s| s["passed"] == false)
                        .map(|s| text(&s["message"]))
                        .collect();
                    let verdict = if o["passed"] == true {
                        "accepted".to_string()
                    } else {
                        failures.join("; ")
                    };
                    vec![text(&o["pod_instance"]), text(&o["hostname"]), verdict]
                })
                .collect();
            if rows.is_empty() {
                println!("no offer outcomes (nothing was waiting for offers at the last cycle)");
            } else {
                println!("{}", table(&["POD", "AGENT", "OUTCOME"], &rows));
            }
            Ok(())
        }
    }
}
