//! `plinth pod list|status|info|restart|replace|pause|resume`.

use clap::Subcommand;

use super::client::encode;
use super::{CliError, Client, ClientArgs, print_json, print_list, table, text};

/// Pod commands.
#[derive(Debug, Subcommand)]
pub(crate) enum PodCommand {
    /// List the pod instances.
    List,
    /// Task statuses of every pod, or of one.
    Status {
        /// Pod instance, e.g. hello-0.
        pod: Option<String>,
    },
    /// Full TaskInfos and statuses of a pod (JSON).
    Info {
        /// Pod instance.
        pod: String,
    },
    /// Kill a pod's tasks and relaunch them in place (same agent, same volumes).
    Restart {
        /// Pod instance.
        pod: String,
    },
    /// Mark a pod permanently failed and place it anew (its old reservations
    /// and volumes are released).
    Replace {
        /// Pod instance.
        pod: String,
    },
    /// Pause tasks of a pod: relaunch them in place (same agent, same
    /// volumes) with an idle command and no health or readiness check, e.g.
    /// to debug their sandbox. Stays paused until resumed.
    Pause {
        /// Pod instance.
        pod: String,
        /// A task to pause (e.g. server); repeat for more. Default: every
        /// long-running task of the pod.
        #[arg(short = 't', long = "task", value_name = "TASK")]
        tasks: Vec<String>,
    },
    /// Resume paused tasks of a pod: relaunch them in place with their own
    /// command and checks.
    Resume {
        /// Pod instance.
        pod: String,
        /// A task to resume (e.g. server); repeat for more. Default: every
        /// task of the pod.
        #[arg(short = 't', long = "task", value_name = "TASK")]
        tasks: Vec<String>,
    },
}

pub(crate) async fn run(cmd: PodCommand, args: &ClientArgs) -> Result<(), CliError> {
    let client = Client::new(args)?;
    match cmd {
        PodCommand::List => {
            print_list(&client.get("/v1/pod").await?.json()?, args.json);
            Ok(())
        }
        PodCommand::Status { pod: None } => {
            let value = client.get("/v1/pod/status").await?.json()?;
            if args.json {
                print_json(&value);
                return Ok(());
            }
            let mut rows = Vec::new();
            for pod_type in value["pods"].as_array().into_iter().flatten() {
                for instance in pod_type["instances"].as_array().into_iter().flatten() {
                    rows.extend(task_rows(instance));
                }
            }
            println!("{}", table(&["POD", "TASK", "STATUS", "TASK ID"], &rows));
            Ok(())
        }
        PodCommand::Status { pod: Some(pod) } => {
            let value = client
                .get(&format!("/v1/pod/{}/status", encode(&pod)))
                .await?
                .json()?;
            if args.json {
                print_json(&value);
            } else {
                println!(
                    "{}",
                    table(&["POD", "TASK", "STATUS", "TASK ID"], &task_rows(&value))
                );
            }
            Ok(())
        }
        PodCommand::Info { pod } => {
            print_json(
                &client
                    .get(&format!("/v1/pod/{}/info", encode(&pod)))
                    .await?
                    .json()?,
            );
            Ok(())
        }
        PodCommand::Restart { pod } => pod_command(&client, &pod, "restart", None, args.json).await,
        PodCommand::Replace { pod } => pod_command(&client, &pod, "replace", None, args.json).await,
        PodCommand::Pause { pod, tasks } => {
            pod_command(&client, &pod, "pause", Some(&tasks), args.json).await
        }
        PodCommand::Resume { pod, tasks } => {
            pod_command(&client, &pod, "resume", Some(&tasks), args.json).await
        }
    }
}

fn task_rows(instance: &serde_json::Value) -> Vec<Vec<String>> {
    instance["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            vec![
                text(&instance["name"]),
                text(&t["name"]),
                text(&t["status"]),
                text(&t["id"]),
            ]
        })
        .collect()
}

async fn pod_command(
    client: &Client,
    pod: &str,
    op: &str,
    tasks: Option<&[String]>,
    json: bool,
) -> Result<(), CliError> {
    // No task list: the server's "all tasks" (no body, like dcos-commons).
    let body = tasks
        .filter(|t| !t.is_empty())
        .map(|t| serde_json::json!(t));
    let value = client
        .post(&format!("/v1/pod/{}/{op}", encode(pod)), body.as_ref())
        .await?
        .json()?;
    if json {
        print_json(&value);
    } else {
        let tasks: Vec<String> = value["tasks"]
            .as_array()
            .into_iter()
            .flatten()
            .map(text)
            .collect();
        let verb = match op {
            "restart" => "restarting",
            "replace" => "replacing",
            "pause" => "pausing",
            _ => "resuming",
        };
        println!("{verb} pod {}: {}", text(&value["pod"]), tasks.join(", "));
    }
    Ok(())
}
