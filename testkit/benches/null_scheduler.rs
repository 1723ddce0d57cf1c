//! How many offers and launches per second the testkit master sustains with
//! a null scheduler: it accepts every offer with one tiny task (and
//! acknowledges every update), against 1,000 simulated agents.
//!
//! `cargo bench -p plinth-testkit --bench null_scheduler` prints the figures.
//! `PLINTH_BENCH_SECS` sets the measured time (default 5 s),
//! `PLINTH_BENCH_AGENTS` the number of agents (default 1000).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use plinth::mesos::{ClientConfig, ClientEvent, SchedulerClient, calls};
use plinth_proto::codec::Encoding;
use plinth_proto::v1::offer::{Operation, operation};
use plinth_proto::v1::resource;
use plinth_proto::v1::{CommandInfo, FrameworkInfo, Resource, TaskId, TaskInfo, value};
use plinth_testkit::{MasterConfig, TestMaster};
use tokio::sync::Semaphore;

fn scalar(name: &str, v: f64) -> Resource {
    Resource {
        name: name.into(),
        r#type: value::Type::Scalar as i32,
        scalar: Some(value::Scalar { value: v }),
        role: Some("*".into()),
        allocation_info: None::<resource::AllocationInfo>,
        ..Default::default()
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn run() -> anyhow::Result<()> {
    let secs: f64 = env_or("PLINTH_BENCH_SECS", 5.0);
    let agents: usize = env_or("PLINTH_BENCH_AGENTS", 1000);
    let master = TestMaster::start(MasterConfig {
        agents,
        allocation_interval: Duration::from_millis(10),
        task_start_delay: Duration::from_millis(1),
        heartbeat_interval: Duration::from_secs(5),
        seed: Some(1),
        ..MasterConfig::default()
    })
    .await?;
    let info = FrameworkInfo {
        user: "bench".into(),
        name: "null-scheduler".into(),
        ..Default::default()
    };
    let mut config = ClientConfig::new(master.url(), info)?;
    config.encoding = Encoding::Protobuf;
    let client = SchedulerClient::new(config);
    let caller = client.caller();
    let mut events = client.subscribe();
    let offers = Arc::new(AtomicU64::new(0));
    let accepted = Arc::new(AtomicU64::new(0));
    let in_flight = Arc::new(Semaphore::new(32));
    let mut next_task = 0u64;
    let mut start: Option<(Instant, plinth_testkit::cluster::Stats)> = None;
    let deadline = Duration::from_secs_f64(secs);
    loop {
        if let Some((t0, _)) = start
            && t0.elapsed() >= deadline
        {
            break;
        }
        let Some(event) = tokio::time::timeout(Duration::from_secs(10), events.next()).await?
        else {
            anyhow::bail!("subscription ended");
        };
        let event = match event? {
            ClientEvent::Subscribed { .. } => continue,
            ClientEvent::Event(e) => e,
            ClientEvent::Disconnected { reason } => anyhow::bail!("disconnected: {reason}"),
            _ => continue,
        };
        if let Some(batch) = event.offers {
            if start.is_none() {
                start = Some((Instant::now(), master.stats()));
            }
            for offer in batch.offers {
                offers.fetch_add(1, Ordering::Relaxed);
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
                let op = Operation {
                    r#type: Some(operation::Type::Launch as i32),
                    launch: Some(operation::Launch {
                        task_infos: vec![task],
                    }),
                    ..Default::default()
                };
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
    let elapsed = t0.elapsed().as_secs_f64();
    let after = master.stats();
    let offers_made = after.offers_sent - before.offers_sent;
    let launched = after.tasks_launched - before.tasks_launched;
    let updates = after.updates_sent - before.updates_sent;
    let acks = after.acks - before.acks;
    println!(
        "null scheduler, {agents} simulated agents, {elapsed:.1} s (protobuf, 32 calls in flight):"
    );
    println!(
        "  offers made:      {offers_made:>8}  ({:.0} offers/s)",
        offers_made as f64 / elapsed
    );
    println!(
        "  tasks launched:   {launched:>8}  ({:.0} launches/s)",
        launched as f64 / elapsed
    );
    println!(
        "  updates sent:     {updates:>8}  ({:.0} updates/s)",
        updates as f64 / elapsed
    );
    println!(
        "  acks processed:   {acks:>8}  ({:.0} acks/s)",
        acks as f64 / elapsed
    );
    println!(
        "  (scheduler side: {} offers received, {} ACCEPTs answered 202)",
        offers.load(Ordering::Relaxed),
        accepted.load(Ordering::Relaxed)
    );
    master.shutdown().await;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    // `cargo test --benches` runs this with `--bench`-less arguments; stay quick then.
    if std::env::args().any(|a| a == "--list") {
        return Ok(());
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}
