//! `plinth config list|show|target|target-id`.

use clap::Subcommand;

use super::client::encode;
use super::{CliError, Client, ClientArgs, print_json, print_list, text};

/// Configuration commands.
#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// List the stored configuration ids.
    List,
    /// Show one configuration (JSON).
    Show {
        /// Configuration id (a UUID).
        id: String,
    },
    /// Show the target configuration (JSON).
    Target,
    /// Print the target configuration's id.
    #[command(name = "target-id", visible_alias = "target_id")]
    TargetId,
    /// Dry run of a config update against the target: failing validators,
    /// pods that would restart and in which order, what changes in each
    /// (exit 0 accepted, 1 refused, 2 could not compare).
    Diff(crate::config_diff::ConfigDiffArgs),
}

pub(crate) async fn run(cmd: ConfigCommand, args: &ClientArgs) -> Result<(), CliError> {
    if let ConfigCommand::Diff(_) = cmd {
        return Err(CliError::Usage(
            "plinth config diff is dispatched by main".into(),
        ));
    }
    let client = Client::new(args)?;
    match cmd {
        ConfigCommand::Diff(_) => {}
        ConfigCommand::List => {
            print_list(&client.get("/v1/configurations").await?.json()?, args.json)
        }
        ConfigCommand::Show { id } => {
            print_json(
                &client
                    .get(&format!("/v1/configurations/{}", encode(&id)))
                    .await?
                    .json()?,
            );
        }
        ConfigCommand::Target => {
            print_json(&client.get("/v1/configurations/target").await?.json()?)
        }
        ConfigCommand::TargetId => {
            let value = client.get("/v1/configurations/targetId").await?.json()?;
            if args.json {
                print_json(&value);
            } else {
                println!("{}", value.get(0).map(text).unwrap_or_default());
            }
        }
    }
    Ok(())
}
