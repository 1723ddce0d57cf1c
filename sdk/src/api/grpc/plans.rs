//! `PlanService`: plans from the snapshot, operations as commands, and
//! `WatchPlan`.
//!
//! # WatchPlan
//! The stream starts with the whole plan, then sends one `StepChange` per
//! step status change, in order, as the scheduler loop publishes them. When
//! the plan changes shape (a recovery phase added) or the stream fell behind
//! (more than [`PLAN_EVENTS`](crate::api::publish::PLAN_EVENTS) updates
//! buffered), it sends the whole plan again. With `until_done` it ends once
//! the plan is `COMPLETE` or `ERROR`; otherwise when the client goes away or
//! the scheduler stops.

use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::{broadcast, mpsc};
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::convert;
use super::proto::plan_service_server::PlanService;
use super::proto::{self, plan_event};
use crate::api::{ApiError, ApiState, PlanUpdate, ServiceSnapshot};
use crate::plan::{Plan, Status as StepStatus, plan_names};
use crate::scheduler::{Command, CommandReply, PlanCommand};

/// Events buffered per `WatchPlan` stream towards the client.
const STREAM_BUFFER: usize = 64;

/// The `PlanService` implementation.
#[derive(Debug, Clone)]
pub(super) struct Plans {
    state: ApiState,
}

impl Plans {
    pub(super) fn new(state: ApiState) -> Self {
        Self { state }
    }

    async fn run(
        &self,
        plan: String,
        op: PlanCommand,
    ) -> Result<Response<proto::CommandResponse>, Status> {
        match self.state.command(Command::Plan { plan, op }).await {
            Ok(CommandReply::Plan(result)) => Ok(Response::new(proto::CommandResponse {
                message: result.message,
                applied: result.outcome == crate::plan::Outcome::Applied,
            })),
            Ok(_) => Err(Status::internal("unexpected answer")),
            Err(e) => Err(ApiError::from(e).into()),
        }
    }
}

fn opt(s: String) -> Option<String> {
    Some(s).filter(|s| !s.trim().is_empty())
}

fn find<'s>(snapshot: &'s ServiceSnapshot, name: &str) -> Option<&'s Plan> {
    snapshot.plans.iter().find(|p| p.name() == name)
}

fn shape(plan: &Plan) -> Vec<String> {
    plan.steps().map(|(_, s)| s.id().to_string()).collect()
}

fn done(plan: &Plan) -> bool {
    matches!(plan.status(), StepStatus::Complete | StepStatus::Error)
}

fn snapshot_event(plan: &Plan) -> proto::PlanEvent {
    proto::PlanEvent {
        plan_status: plan.status().to_string(),
        event: Some(plan_event::Event::Snapshot(convert::plan(plan))),
    }
}

type EventStream = Pin<Box<dyn Stream<Item = Result<proto::PlanEvent, Status>> + Send>>;

#[tonic::async_trait]
impl PlanService for Plans {
    type WatchPlanStream = EventStream;

    async fn list_plans(
        &self,
        _request: Request<proto::ListPlansRequest>,
    ) -> Result<Response<proto::ListPlansResponse>, Status> {
        Ok(Response::new(proto::ListPlansResponse {
            plans: plan_names(&self.state.current().plans),
        }))
    }

    async fn get_plan(
        &self,
        request: Request<proto::GetPlanRequest>,
    ) -> Result<Response<proto::Plan>, Status> {
        let name = request.into_inner().plan;
        let snapshot = self.state.current();
        let plan = find(&snapshot, &name)
            .ok_or_else(|| Status::not_found(format!("Plan {name} not found")))?;
        Ok(Response::new(convert::plan(plan)))
    }

    async fn start_plan(
        &self,
        request: Request<proto::StartPlanRequest>,
    ) -> Result<Response<proto::CommandResponse>, Status> {
        let r = request.into_inner();
        self.run(
            r.plan,
            PlanCommand::Start(r.parameters.into_iter().collect()),
        )
        .await
    }

    async fn stop_plan(
        &self,
        request: Request<proto::PlanTarget>,
    ) -> Result<Response<proto::CommandResponse>, Status> {
        self.run(request.into_inner().plan, PlanCommand::Stop).await
    }

    async fn continue_plan(
        &self,
        request: Request<proto::PlanTarget>,
    ) -> Result<Response<proto::CommandResponse>, Status> {
        let r = request.into_inner();
        self.run(
            r.plan,
            PlanCommand::Continue {
                phase: opt(r.phase),
            },
        )
        .await
    }

    async fn interrupt_plan(
        &self,
        request: Request<proto::PlanTarget>,
    ) -> Result<Response<proto::CommandResponse>, Status> {
        let r = request.into_inner();
        self.run(
            r.plan,
            PlanCommand::Interrupt {
                phase: opt(r.phase),
            },
        )
        .await
    }

    async fn force_complete_plan(
        &self,
        request: Request<proto::PlanTarget>,
    ) -> Result<Response<proto::CommandResponse>, Status> {
        let r = request.into_inner();
        self.run(
            r.plan,
            PlanCommand::ForceComplete {
                phase: opt(r.phase),
                step: opt(r.step),
            },
        )
        .await
    }

    async fn restart_plan(
        &self,
        request: Request<proto::PlanTarget>,
    ) -> Result<Response<proto::CommandResponse>, Status> {
        let r = request.into_inner();
        self.run(
            r.plan,
            PlanCommand::Restart {
                phase: opt(r.phase),
                step: opt(r.step),
            },
        )
        .await
    }

    async fn watch_plan(
        &self,
        request: Request<proto::WatchPlanRequest>,
    ) -> Result<Response<Self::WatchPlanStream>, Status> {
        let r = request.into_inner();
        // Subscribe before reading the snapshot, so nothing falls between.
        let updates = self.state.subscribe();
        let first = self.state.current();
        let plan = find(&first, &r.plan)
            .ok_or_else(|| Status::not_found(format!("Plan {} not found", r.plan)))?;
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        let _ = tx.try_send(Ok(snapshot_event(plan)));
        if !(r.until_done && done(plan)) {
            let watcher = Watcher {
                name: r.plan,
                until_done: r.until_done,
                shape: shape(plan),
                status: plan.status(),
                version: first.version,
                tx,
            };
            tokio::spawn(watcher.run(self.state.clone(), updates));
        }
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

/// One `WatchPlan` stream's state.
struct Watcher {
    name: String,
    until_done: bool,
    shape: Vec<String>,
    status: StepStatus,
    version: u64,
    tx: mpsc::Sender<Result<proto::PlanEvent, Status>>,
}

impl Watcher {
    async fn run(mut self, state: ApiState, updates: Option<broadcast::Receiver<Arc<PlanUpdate>>>) {
        match updates {
            Some(updates) => self.follow_updates(&state, updates).await,
            None => self.follow_snapshots(&state).await,
        }
    }

    async fn follow_updates(
        &mut self,
        state: &ApiState,
        mut updates: broadcast::Receiver<Arc<PlanUpdate>>,
    ) {
        loop {
            let update = tokio::select! {
                () = self.tx.closed() => return,
                update = updates.recv() => update,
            };
            let keep_going = match update {
                Ok(update) => self.apply(&update).await,
                Err(broadcast::error::RecvError::Lagged(_)) => self.resync(&state.current()).await,
                Err(broadcast::error::RecvError::Closed) => return,
            };
            if !keep_going {
                return;
            }
        }
    }

    /// Without a change feed (a read-only API): whole plans as snapshots change.
    async fn follow_snapshots(&mut self, state: &ApiState) {
        let mut snapshots = state.snapshots();
        loop {
            tokio::select! {
                () = self.tx.closed() => return,
                changed = snapshots.changed() => if changed.is_err() { return },
            }
            let snapshot = Arc::clone(&snapshots.borrow_and_update());
            if !self.resync(&snapshot).await {
                return;
            }
        }
    }

    /// Sends what `update` changed in the plan; false when the stream ends.
    async fn apply(&mut self, update: &PlanUpdate) -> bool {
        if update.snapshot.version <= self.version {
            return true;
        }
        self.version = update.snapshot.version;
        let Some(plan) = find(&update.snapshot, &self.name) else {
            let _ = self
                .tx
                .send(Err(Status::not_found(format!(
                    "Plan {} is gone",
                    self.name
                ))))
                .await;
            return false;
        };
        if shape(plan) != self.shape {
            return self.resync(&update.snapshot).await;
        }
        let status = plan.status();
        let mut sent = false;
        for change in update
            .changes
            .iter()
            .filter(|c| c.step_ref.plan == self.name)
        {
            let event = proto::PlanEvent {
                plan_status: status.to_string(),
                event: Some(plan_event::Event::Step(convert::step_change(change))),
            };
            if self.tx.send(Ok(event)).await.is_err() {
                return false;
            }
            sent = true;
        }
        if !sent && status != self.status {
            return self.resync(&update.snapshot).await;
        }
        self.status = status;
        !(self.until_done && done(plan))
    }

    /// Sends the whole plan; false when the stream ends.
    async fn resync(&mut self, snapshot: &ServiceSnapshot) -> bool {
        let Some(plan) = find(snapshot, &self.name) else {
            let _ = self
                .tx
                .send(Err(Status::not_found(format!(
                    "Plan {} is gone",
                    self.name
                ))))
                .await;
            return false;
        };
        self.version = self.version.max(snapshot.version);
        self.shape = shape(plan);
        self.status = plan.status();
        if self.tx.send(Ok(snapshot_event(plan))).await.is_err() {
            return false;
        }
        !(self.until_done && done(plan))
    }
}
