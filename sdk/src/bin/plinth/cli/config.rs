//! `plinth config list|show|target|target-id|update` (`diff` lives in
//! `config_diff.rs`).

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
    /// Apply a config update through the running scheduler, validated as a
    /// restart with the new spec would be: the changed pods roll by the
    /// plan's strategy; a refused change (exit 1) lists every reason and
    /// changes nothing. Try `plinth config diff` first.
    Update {
        /// The new service spec (svc.yml).
        #[arg(long, value_name = "FILE")]
        spec: std::path::PathBuf,
        /// A file of KEY=VALUE lines rendering the spec; repeatable.
        #[arg(long = "env-file", value_name = "FILE")]
        env_files: Vec<std::path::PathBuf>,
        /// One variable, KEY=VALUE; repeatable; wins over env files.
        #[arg(long = "env", value_name = "KEY=VALUE")]
        env: Vec<String>,
    },
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
        ConfigCommand::Update {
            spec,
            env_files,
            env,
        } => {
            let text = std::fs::read_to_string(&spec).map_err(|e| {
                CliError::Usage(format!("cannot read --spec {}: {e}", spec.display()))
            })?;
            let env = plinth::spec::envfile::load_env(&env_files, &env)
                .map_err(|e| CliError::Usage(format!("{e:#}")))?;
            let body = serde_json::json!({ "spec": text, "env": env });
            let reply = client
                .send(
                    http::Method::PUT,
                    "/v1/configurations/target",
                    Some(("application/json", body.to_string().into_bytes())),
                )
                .await?;
            if !reply.status.is_success() {
                return Err(reply.error());
            }
            let value = reply.json()?;
            if args.json {
                print_json(&value);
            } else {
                println!("{}", value["message"].as_str().unwrap_or_default());
            }
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
