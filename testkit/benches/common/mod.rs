//! Shared by the benches: the allocator, the environment knobs, the master configuration
//! the throughput benches use, and the null scheduler whose rates are the
//! ceiling Plinth is measured against.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use plinth::mesos::{ClientConfig, ClientEvent, SchedulerClient, calls};
use plinth_proto::codec::Encoding;
use plinth_proto::v1::{CommandInfo, FrameworkInfo, Resource, TaskId, TaskInfo, TaskState, value};
use plinth_testkit::cluster::Stats;
use plinth_testkit::{MasterConfig, TestMaster};
use tokio::sync::Semaphore;

/// Every bench runs on the allocator the `plinth` binary ships with
/// (jemalloc, see sdk/src/bin/plinth/main.rs), the in-process scheduler and
/// its null-scheduler ceiling alike.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// `name` from the environment, parsed, or `default`.
pub fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The master of the throughput benches: `agents` simulated agents,
/// allocation every 10 ms, tasks start after 1 ms.
pub async fn master(agents: usize) -> anyhow::Result<TestMaster> {
    Ok(TestMaster::start(MasterConfig {
        agents,
        allocation_interval: Duration::from_millis(10),
        task_start_delay: Duration::from_millis(1),
        heartbeat_interval: Duration::from_secs(5),
        seed: Some(1),
        ..MasterConfig::default()
    })
    .await?)
}

fn scalar(name: &str, v: f64) -> Resource {
    Resource {
        name: name.into(),
        r#type: value::Type::Scalar as i32,
        scalar: Some(value::Scalar { value: v }),
        role: Some("*".into()),
        ..Default::default()
    }
}

/// What a null-scheduler run measured.
pub struct NullRun {
    /// Seconds from the first OFFERS event (steady) or from subscribing (deploy).
    pub elapsed: f64,
    /// The master's counters when timing started, and at the end.
    pub before: Stats,
    pub after: Stats,
    /// OFFERS received and ACCEPTs answered 202, scheduler side.
    pub offers_received: u64,
    pub accepted: u64,
}

impl NullRun {
    /// Tasks the master launched during the run.
    pub fn launched(&self) -> u64 {
        self.after.tasks_launched - self.before.tasks_launched
    }

    /// Offers the master made during the run.
    pub fn offers(&self) -> u64 {
        self.after.offers_sent - self.before.offers_sent
    }
}

/// The null scheduler on `master`: it accepts every offer with one tiny task
/// and acknowledges every update, 32 calls in flight. `limit: None` is the
/// steady run (`secs` long, timed from the first offer); `Some(n)` launches
/// `n` tasks and runs until all are RUNNING, timed from subscribing.
pub async fn null_scheduler(
    master: &TestMaster,
    secs: f64,
    limit: Option<u64>,
) -> anyhow::Result<NullRun> {
    let info = FrameworkInfo {
        user: "bench".into(),
        name: "null-scheduler".into(),
        ..Default::default()
    };
    let mut config = ClientConfig::new(master.url(), info)?;
    config.encoding = Encoding::Protobuf;
    let client = SchedulerClient::new(config);
    let caller = client.caller();
    let subscribed_at = Instant::now();
    let mut events = client.subscribe();
    let in_flight = Arc::new(Semaphore::new(32));
    let accepted = Arc::new(AtomicU64::new(0));
    let mut next_task = 0u64;
    let mut running = 0u64;
    let offers_received = Arc::new(AtomicU64::new(0));
    let mut start: Option<(Instant, Stats)> = None;
    let deadline = Duration::from_secs_f64(secs);
    loop {
        match (limit, start) {
            (None, Some((t0, _))) if t0.elapsed() >= deadline => break,
            (Some(n), _) if running >= n => break,
            _ => {}
        }
        let Some(event) = tokio::time::timeout(Duration::from_secs(10), events.next()).await?
        else {
            anyhow::bail!("subscription ended");
        };
        let event = match event? {
            ClientEvent::Event(e) => e,
            ClientEvent::Disconnected { reason } => anyhow::bail!("disconnected: {reason}"),
            _ => continue,
        };
        if let Some(batch) = event.offers {
            if start.is_none() {
                start = Some((Instant::now(), master.stats()));
            }
            for offer in batch.offers {
                offers_received.fetch_add(1, Ordering::Relaxed);
                if limit.is_some_and(|n| next_task >= n) {
                    let caller = caller.clone();
                    tokio::spawn(async move {
                        let _ = caller
                            .call(calls::decline(vec![offer.id], Some(3600.0)))
                            .await;
                    });
                    continue;
                }
                next_task += 1;
                let task = TaskInfo {
                    name: "null".into(),
                    task_id: TaskId {
                        value: format!("t{next_task}"),
                    },
                    agent_id: offer.agent_id.clone(),
                    resources: vec![scalar("cpus", 0.01), scalar("mem", 1.0)],
                    command: Some(CommandInfo {
                        value: Some("true".into()),
                        ..Default::default()
                    }),
                    ..Default::default()
                };
                let op = calls::launch(vec![task]);
                let permit = Arc::clone(&in_flight).acquire_owned().await?;
                let caller = caller.clone();
                let accepted = Arc::clone(&accepted);
                tokio::spawn(async move {
                    if caller
                        .call(calls::accept(vec![offer.id], vec![op], Some(0.0)))
                        .await
                        .is_ok()
                    {
                        accepted.fetch_add(1, Ordering::Relaxed);
                    }
                    drop(permit);
                });
            }
        } else if let Some(update) = event.update {
            let status = update.status;
            if status.state == TaskState::TaskRunning as i32 {
                running += 1;
            }
            if let (Some(uuid), Some(agent)) = (status.uuid.clone(), status.agent_id.clone()) {
                let permit = Arc::clone(&in_flight).acquire_owned().await?;
                let caller = caller.clone();
                tokio::spawn(async move {
                    let _ = caller
                        .call(calls::acknowledge(agent, status.task_id, uuid))
                        .await;
                    drop(permit);
                });
            }
        }
    }
    let Some((t0, before)) = start else {
        anyhow::bail!("no offers arrived")
    };
    let elapsed = match limit {
        None => t0.elapsed().as_secs_f64(),
        Some(_) => subscribed_at.elapsed().as_secs_f64(),
    };
    Ok(NullRun {
        elapsed,
        before,
        after: master.stats(),
        offers_received: offers_received.load(Ordering::Relaxed),
        accepted: accepted.load(Ordering::Relaxed),
    })
}
