//! `plinth state framework-id|properties|property`.

use clap::Subcommand;

use super::client::encode;
use super::{CliError, Client, ClientArgs, print_json, print_list, text};

/// State commands.
#[derive(Debug, Subcommand)]
pub(crate) enum StateCommand {
    /// Print the Mesos FrameworkID.
    #[command(name = "framework-id", visible_alias = "framework_id")]
    FrameworkId,
    /// List the stored property keys.
    Properties,
    /// Print one property.
    Property {
        /// Property key.
        key: String,
    },
}

pub(crate) async fn run(cmd: StateCommand, args: &ClientArgs) -> Result<(), CliError> {
    let client = Client::new(args)?;
    match cmd {
        StateCommand::FrameworkId => {
            let value = client.get("/v1/state/frameworkId").await?.json()?;
            if args.json {
                print_json(&value);
            } else {
                println!("{}", value.get(0).map(text).unwrap_or_default());
            }
        }
        StateCommand::Properties => print_list(
            &client.get("/v1/state/properties").await?.json()?,
            args.json,
        ),
        StateCommand::Property { key } => {
            let value = client
                .get(&format!("/v1/state/properties/{}", encode(&key)))
                .await?
                .json()?;
            if args.json {
                print_json(&value);
            } else {
                println!("{}", text(&value));
            }
        }
    }
    Ok(())
}
