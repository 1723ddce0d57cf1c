//! The scheduler's restart path on ZooKeeper: 10,000 TaskInfos with their
//! statuses written in batches, then all read back (target: read-back under
//! 1 s). Uses `PLINTH_TEST_ZK` or starts a private ZooKeeper; prints
//! `skipped: no ZooKeeper` without one.
//!
//! Run: `cargo bench -p plinth --bench state_zk`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use plinth::state::testing::TestZooKeeper;
use plinth::state::{Persister, StateStore, ZkConfig, ZkPersister};
use plinth_proto::v1::{
    AgentId, CommandInfo, Label, Labels, Resource, TaskId, TaskInfo, TaskState, TaskStatus, value,
};

const TASKS: usize = 10_000;
const BATCH: usize = 250;

/// A TaskInfo of realistic size (~0.7 KB): resources, command, labels.
fn task(i: usize) -> TaskInfo {
    let resource = |name: &str, v: f64| Resource {
        name: name.into(),
        r#type: 0,
        scalar: Some(value::Scalar { value: v }),
        role: Some("hello-world-role".into()),
        ..Default::default()
    };
    let label = |k: &str, v: String| Label {
        key: k.into(),
        value: Some(v),
    };
    TaskInfo {
        name: format!("pod-{i}-server"),
        task_id: TaskId {
            value: format!("pod-{i}-server__{:032x}", i * 7919),
        },
        agent_id: AgentId {
            value: format!("agent-{}-S{}", i % 1000, i % 7),
        },
        resources: vec![
            resource("cpus", 0.5),
            resource("mem", 512.0),
            resource("disk", 1024.0),
        ],
        command: Some(CommandInfo {
            value: Some(
                "echo hello >> hello-container-path/output && sleep $SLEEP_DURATION".into(),
            ),
            ..Default::default()
        }),
        labels: Some(Labels {
            labels: vec![
                label(
                    "target_configuration",
                    "9b3c2a1e-0d2f-4a57-8c57-7a4cb8a6f2d1".into(),
                ),
                label("task_type", "pod".into()),
                label("index", i.to_string()),
                label("offer_hostname", format!("10.0.{}.{}", i / 250, i % 250)),
                label("offer_zone", format!("zone-{}", i % 3)),
            ],
        }),
        data: Some(vec![0x5a; 300]),
        ..Default::default()
    }
}

fn status(info: &TaskInfo) -> (String, TaskStatus) {
    let status = TaskStatus {
        task_id: info.task_id.clone(),
        state: TaskState::TaskRunning as i32,
        agent_id: Some(info.agent_id.clone()),
        message: Some("task is running".into()),
        ..Default::default()
    };
    (info.name.clone(), status)
}

fn restart_path(c: &mut Criterion) {
    let Some(zk) = TestZooKeeper::shared() else {
        println!("skipped: no ZooKeeper");
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let config = ZkConfig::new(zk.connect(), TestZooKeeper::unique_root("bench"));
    let persister = rt.block_on(ZkPersister::connect(config)).expect("connect");
    let store = rt
        .block_on(StateStore::open(persister.clone()))
        .expect("open");
    let tasks: Vec<TaskInfo> = (0..TASKS).map(task).collect();
    let statuses: Vec<(String, TaskStatus)> = tasks.iter().map(status).collect();
    let bytes =
        prost::Message::encoded_len(&tasks[0]) + prost::Message::encoded_len(&statuses[0].1);

    let start = Instant::now();
    rt.block_on(async {
        for (infos, sts) in tasks.chunks(BATCH).zip(statuses.chunks(BATCH)) {
            store.store_tasks(infos).await.expect("store tasks");
            store.store_statuses(sts).await.expect("store statuses");
        }
    });
    let write = start.elapsed();
    println!(
        "state_zk: wrote {TASKS} TaskInfos + TaskStatuses (~{bytes} B per task) in batches of {BATCH}: \
         {write:.2?} ({:.0} tasks/s)",
        TASKS as f64 / write.as_secs_f64()
    );
    let start = Instant::now();
    let all = rt.block_on(store.fetch_all_tasks()).expect("read back");
    println!(
        "state_zk: first read-back of {} tasks: {:.2?}",
        all.len(),
        start.elapsed()
    );
    assert_eq!(all.len(), TASKS);
    assert!(all.values().all(|t| t.info.is_some() && t.status.is_some()));

    let mut group = c.benchmark_group("state_zk");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("fetch_all_tasks_10000", |b| {
        b.iter(|| {
            black_box(
                rt.block_on(store.fetch_all_tasks())
                    .expect("read back")
                    .len(),
            )
        })
    });
    group.bench_function("store_tasks_then_statuses_batch_250", |b| {
        let mut next = 0;
        b.iter(|| {
            let at = (next % (TASKS / BATCH)) * BATCH;
            next += 1;
            rt.block_on(async {
                store
                    .store_tasks(&tasks[at..at + BATCH])
                    .await
                    .expect("store tasks");
                store
                    .store_statuses(&statuses[at..at + BATCH])
                    .await
                    .expect("store statuses");
            })
        })
    });
    group.finish();
    rt.block_on(persister.delete_root()).expect("delete root");
}

criterion_group!(benches, restart_path);
criterion_main!(benches);
