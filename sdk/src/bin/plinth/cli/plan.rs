//! `plinth plan list|show|start|stop|pause|resume|force-complete|force-restart|watch`.

use std::collections::BTreeMap;
use std::time::Duration;

use clap::Subcommand;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use plinth::api::grpc::proto::plan_event::Event;
use plinth::api::grpc::proto::plan_service_client::PlanServiceClient;
use plinth::api::grpc::proto::{self, WatchPlanRequest};

use super::client::encode;
use super::{CliError, Client, ClientArgs, print_json, table, text};

/// Plan commands.
#[derive(Debug, Subcommand)]
pub(crate) enum PlanCommand {
    /// List the plans with their status.
    List,
    /// Show a plan: phases and steps with their status.
    #[command(visible_alias = "status")]
    Show {
        /// Plan name.
        plan: String,
    },
    /// Start a plan, optionally with environment overrides.
    Start {
        /// Plan name.
        plan: String,
        /// KEY=VALUE for the plan's tasks; repeatable.
        #[arg(short = 'p', long = "param", value_name = "KEY=VALUE")]
        params: Vec<String>,
    },
    /// Stop a plan: interrupt it and reset its steps.
    Stop {
        /// Plan name.
        plan: String,
    },
    /// Pause (interrupt) a plan or one of its phases.
    #[command(visible_alias = "interrupt")]
    Pause {
        /// Plan name.
        plan: String,
        /// Phase name or id.
        phase: Option<String>,
    },
    /// Resume (continue) a plan or one of its phases.
    #[command(visible_alias = "continue")]
    Resume {
        /// Plan name.
        plan: String,
        /// Phase name or id.
        phase: Option<String>,
    },
    /// Mark a step complete without doing its work.
    #[command(visible_alias = "force")]
    ForceComplete {
        /// Plan name.
        plan: String,
        /// Phase name or id.
        phase: String,
        /// Step name or id.
        step: String,
    },
    /// Restart a plan, a phase or a step (its steps go back to PENDING).
    #[command(visible_alias = "restart")]
    ForceRestart {
        /// Plan name.
        plan: String,
        /// Phase name or id.
        phase: Option<String>,
        /// Step name or id (needs the phase).
        step: Option<String>,
    },
    /// Draw a plan's progress live until it completes (exit 0) or fails (exit 1).
    Watch {
        /// Plan name.
        plan: String,
        /// Give up after this many seconds (0: never).
        #[arg(long, default_value_t = 0, value_name = "SECS")]
        timeout: u64,
    },
}

pub(crate) async fn run(cmd: PlanCommand, args: &ClientArgs) -> Result<(), CliError> {
    let client = Client::new(args)?;
    match cmd {
        PlanCommand::List => list(&client, args.json).await,
        PlanCommand::Show { plan } => show(&client, &plan, args.json).await,
        PlanCommand::Start { plan, params } => {
            let mut map = BTreeMap::new();
            for p in params {
                let (k, v) = p
                    .split_once('=')
                    .ok_or_else(|| CliError::Usage(format!("-p {p}: expected KEY=VALUE")))?;
                map.insert(k.to_string(), serde_json::Value::String(v.to_string()));
            }
            let body = serde_json::Value::Object(map.into_iter().collect());
            command(
                &client,
                &format!("/v1/plans/{}/start", encode(&plan)),
                Some(&body),
                args.json,
            )
            .await
        }
        PlanCommand::Stop { plan } => {
            command(
                &client,
                &format!("/v1/plans/{}/stop", encode(&plan)),
                None,
                args.json,
            )
            .await
        }
        PlanCommand::Pause { plan, phase } => {
            let path = format!(
                "/v1/plans/{}/interrupt{}",
                encode(&plan),
                query(phase.as_deref(), None)
            );
            command(&client, &path, None, args.json).await
        }
        PlanCommand::Resume { plan, phase } => {
            let path = format!(
                "/v1/plans/{}/continue{}",
                encode(&plan),
                query(phase.as_deref(), None)
            );
            command(&client, &path, None, args.json).await
        }
        PlanCommand::ForceComplete { plan, phase, step } => {
            let path = format!(
                "/v1/plans/{}/forceComplete{}",
                encode(&plan),
                query(Some(&phase), Some(&step))
            );
            command(&client, &path, None, args.json).await
        }
        PlanCommand::ForceRestart { plan, phase, step } => {
            if step.is_some() && phase.is_none() {
                return Err(CliError::Usage("a step needs its phase".into()));
            }
            let path = format!(
                "/v1/plans/{}/restart{}",
                encode(&plan),
                query(phase.as_deref(), step.as_deref())
            );
            command(&client, &path, None, args.json).await
        }
        PlanCommand::Watch { plan, timeout } => {
            let watch = watch(&client, &plan);
            if timeout == 0 {
                watch.await
            } else {
                tokio::time::timeout(Duration::from_secs(timeout), watch)
                    .await
                    .map_err(|_| {
                        CliError::Usage(format!("plan {plan} did not finish within {timeout} s"))
                    })?
            }
        }
    }
}

fn query(phase: Option<&str>, step: Option<&str>) -> String {
    let mut parts = Vec::new();
    if let Some(p) = phase {
        parts.push(format!("phase={}", encode(p)));
    }
    if let Some(s) = step {
        parts.push(format!("step={}", encode(s)));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

async fn command(
    client: &Client,
    path: &str,
    body: Option<&serde_json::Value>,
    json: bool,
) -> Result<(), CliError> {
    let reply = client.post(path, body).await?;
    let value = reply.json()?;
    if json {
        print_json(&value);
    } else {
        let message = value.get("message").map(text).unwrap_or_default();
        if reply.status.as_u16() == 208 {
            println!("{message} (nothing to change)");
        } else {
            println!("{message}");
        }
    }
    Ok(())
}

/// A plan's JSON, whatever its status code (202 in progress, 417 errors).
async fn fetch_plan(client: &Client, plan: &str) -> Result<serde_json::Value, CliError> {
    let reply = client
        .send(
            http::Method::GET,
            &format!("/v1/plans/{}", encode(plan)),
            None,
        )
        .await?;
    let value = reply.json().ok();
    match value {
        Some(v) if v.get("phases").is_some() => Ok(v),
        _ => Err(reply.error()),
    }
}

async fn list(client: &Client, json: bool) -> Result<(), CliError> {
    let names = client.get("/v1/plans").await?.json()?;
    let names: Vec<String> = names.as_array().into_iter().flatten().map(text).collect();
    let mut plans = serde_json::Map::new();
    for name in &names {
        plans.insert(name.clone(), fetch_plan(client, name).await?);
    }
    if json {
        print_json(&serde_json::Value::Object(plans));
        return Ok(());
    }
    let rows: Vec<Vec<String>> = names
        .iter()
        .map(|n| {
            let plan = plans.get(n);
            let steps: Vec<&serde_json::Value> = plan
                .and_then(|p| p["phases"].as_array())
                .into_iter()
                .flatten()
                .flat_map(|ph| ph["steps"].as_array().into_iter().flatten())
                .collect();
            let complete = steps.iter().filter(|s| s["status"] == "COMPLETE").count();
            vec![
                n.clone(),
                plan.map(|p| text(&p["status"])).unwrap_or_default(),
                format!("{complete}/{}", steps.len()),
            ]
        })
        .collect();
    println!("{}", table(&["PLAN", "STATUS", "STEPS COMPLETE"], &rows));
    Ok(())
}

async fn show(client: &Client, plan: &str, json: bool) -> Result<(), CliError> {
    let value = fetch_plan(client, plan).await?;
    if json {
        print_json(&value);
        return Ok(());
    }
    println!(
        "{} ({} strategy) [{}]",
        plan,
        text(&value["strategy"]),
        text(&value["status"])
    );
    for phase in value["phases"].as_array().into_iter().flatten() {
        println!(
            "├─ {} ({}) [{}]",
            text(&phase["name"]),
            text(&phase["strategy"]),
            text(&phase["status"])
        );
        for step in phase["steps"].as_array().into_iter().flatten() {
            println!("│  ├─ {} [{}]", text(&step["name"]), text(&step["status"]));
        }
    }
    for error in value["errors"].as_array().into_iter().flatten() {
        println!("error: {}", text(error));
    }
    Ok(())
}

/// Follows `WatchPlan` over gRPC and draws one bar per phase.
async fn watch(client: &Client, plan: &str) -> Result<(), CliError> {
    let endpoint = tonic::transport::Endpoint::from_shared(client.base().to_string())
        .map_err(|e| CliError::Usage(format!("--url {}: {e}", client.base())))?
        .connect_timeout(Duration::from_secs(5));
    let channel = endpoint.connect().await.map_err(|e| CliError::Connect {
        url: client.base().to_string(),
        message: e.to_string(),
    })?;
    let mut grpc = PlanServiceClient::new(channel);
    let mut request = tonic::Request::new(WatchPlanRequest {
        plan: plan.to_string(),
        until_done: true,
    });
    if let Some(token) = client.token() {
        let value = format!("Bearer {token}")
            .parse()
            .map_err(|_| CliError::Usage("the token cannot be sent as a header".into()))?;
        request.metadata_mut().insert("authorization", value);
    }
    let mut stream = grpc
        .watch_plan(request)
        .await
        .map_err(status_error)?
        .into_inner();
    let mut view = Progress::new(plan);
    while let Some(event) = stream.message().await.map_err(status_error)? {
        match event.event {
            Some(Event::Snapshot(p)) => view.snapshot(&p),
            Some(Event::Step(change)) => view.step(&change),
            None => {}
        }
        view.status(&event.plan_status);
        match event.plan_status.as_str() {
            "COMPLETE" => {
                view.finish("COMPLETE");
                return Ok(());
            }
            "ERROR" => {
                view.finish("ERROR");
                return Err(CliError::PlanFailed(plan.to_string()));
            }
            _ => {}
        }
    }
    Err(CliError::BadResponse(format!(
        "the scheduler ended the watch of plan {plan} before it finished"
    )))
}

fn status_error(s: tonic::Status) -> CliError {
    CliError::Server {
        status: match s.code() {
            tonic::Code::NotFound => http::StatusCode::NOT_FOUND,
            tonic::Code::Unauthenticated => http::StatusCode::UNAUTHORIZED,
            tonic::Code::InvalidArgument => http::StatusCode::BAD_REQUEST,
            tonic::Code::Unavailable => http::StatusCode::SERVICE_UNAVAILABLE,
            _ => http::StatusCode::INTERNAL_SERVER_ERROR,
        },
        message: s.message().to_string(),
    }
}

/// The live view: a header line and one bar per phase.
struct Progress {
    multi: MultiProgress,
    header: ProgressBar,
    /// Bars by phase name, with the step statuses of that phase.
    phases: Vec<(String, ProgressBar, BTreeMap<String, String>)>,
    plan: String,
}

impl Progress {
    fn new(plan: &str) -> Self {
        let multi = MultiProgress::new();
        let header = multi.add(ProgressBar::new_spinner());
        header.enable_steady_tick(Duration::from_millis(120));
        header.set_message(format!("plan {plan}"));
        Self {
            multi,
            header,
            phases: Vec::new(),
            plan: plan.to_string(),
        }
    }

    fn snapshot(&mut self, plan: &proto::Plan) {
        for (_, bar, _) in self.phases.drain(..) {
            bar.finish_and_clear();
        }
        let style = ProgressStyle::with_template("{prefix:>16} [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        for phase in &plan.phases {
            let bar = self.multi.add(ProgressBar::new(phase.steps.len() as u64));
            bar.set_style(style.clone());
            bar.set_prefix(phase.name.clone());
            let steps = phase
                .steps
                .iter()
                .map(|s| (s.name.clone(), s.status.clone()))
                .collect();
            self.phases.push((phase.name.clone(), bar, steps));
        }
        self.redraw();
    }

    fn step(&mut self, change: &proto::StepChange) {
        if let Some((_, _, steps)) = self.phases.iter_mut().find(|(n, _, _)| *n == change.phase) {
            steps.insert(change.step.clone(), change.to.clone());
        }
        self.redraw();
    }

    fn status(&self, status: &str) {
        self.header
            .set_message(format!("plan {} [{status}]", self.plan));
    }

    fn redraw(&self) {
        for (_, bar, steps) in &self.phases {
            let done = steps.values().filter(|s| *s == "COMPLETE").count();
            bar.set_position(done as u64);
            let active: Vec<String> = steps
                .iter()
                .filter(|(_, s)| *s != "COMPLETE" && *s != "PENDING")
                .map(|(n, s)| format!("{n} {s}"))
                .collect();
            bar.set_message(active.join(", "));
        }
    }

    fn finish(&self, status: &str) {
        self.redraw();
        for (_, bar, _) in &self.phases {
            bar.finish();
        }
        self.header
            .finish_with_message(format!("plan {} [{status}]", self.plan));
    }
}
