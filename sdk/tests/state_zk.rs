//! State tests against a real ZooKeeper, plus the backend-generic
//! StateStore/ConfigStore suite run on all three backends.
//!
//! The ZooKeeper comes from `PLINTH_TEST_ZK` (set by `scripts/test`), or is
//! started privately if the Debian package is installed; without one the
//! ZooKeeper tests print `skipped: no ZooKeeper` and pass. Every test uses its
//! own root, so the tests run in parallel.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bytes::Bytes;
use plinth::state::testing::{Partition, TestZooKeeper};
use plinth::state::{
    ConfigStore, Error, FilePersister, LeadershipLost, MemPersister, Persister, StateStore, Txn,
    ZkConfig, ZkPersister,
};
use plinth_proto::v1::{AgentId, FrameworkId, TaskId, TaskInfo, TaskState, TaskStatus};
use serde::{Deserialize, Serialize};

// === fixtures ===

fn task(name: &str, id: &str) -> TaskInfo {
    TaskInfo {
        name: name.into(),
        task_id: TaskId { value: id.into() },
        agent_id: AgentId {
            value: "agent-1".into(),
        },
        ..Default::default()
    }
}

fn status(id: &str, state: TaskState) -> TaskStatus {
    TaskStatus {
        task_id: TaskId { value: id.into() },
        state: state as i32,
        ..Default::default()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Spec {
    name: String,
    count: u32,
}

fn zk_config(name: &str) -> Option<ZkConfig> {
    let zk = TestZooKeeper::shared()?;
    let mut config = ZkConfig::new(zk.connect(), TestZooKeeper::unique_root(name));
    config.session_timeout = Duration::from_secs(4);
    config.op_timeout = Duration::from_secs(10);
    Some(config)
}

macro_rules! zk_or_skip {
    ($name:expr) => {
        match zk_config($name) {
            Some(config) => config,
            None => {
                println!("skipped: no ZooKeeper");
                return;
            }
        }
    };
}

async fn connect(config: &ZkConfig) -> ZkPersister {
    ZkPersister::connect(config.clone())
        .await
        .expect("connect to the test ZooKeeper")
}

// === the generic suite ===

/// StateStore, ConfigStore and Persister semantics every backend must share.
async fn suite<P: Persister>(p: P) {
    // Schema version written on first use, accepted on reopen.
    let store = StateStore::open(p.clone()).await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), Some(1));
    let store = StateStore::open(p.clone()).await.unwrap();

    // FrameworkID.
    assert_eq!(store.fetch_framework_id().await.unwrap(), None);
    let fw = FrameworkId {
        value: "fw-1".into(),
    };
    store.store_framework_id(&fw).await.unwrap();
    assert_eq!(store.fetch_framework_id().await.unwrap(), Some(fw));
    store.clear_framework_id().await.unwrap();
    assert_eq!(store.fetch_framework_id().await.unwrap(), None);

    // TaskInfos in one batch, statuses.
    let tasks = [
        task("hello-0-server", "h0"),
        task("world-0-server", "w0"),
        task("world-1-server", "w1"),
    ];
    store.store_tasks(&tasks).await.unwrap();
    assert_eq!(
        store.fetch_task_names().await.unwrap(),
        ["hello-0-server", "world-0-server", "world-1-server"]
    );
    assert_eq!(
        store.fetch_task("world-0-server").await.unwrap().as_ref(),
        Some(&tasks[1])
    );
    assert_eq!(store.fetch_task("nope").await.unwrap(), None);
    store
        .store_status("hello-0-server", &status("h0", TaskState::TaskRunning))
        .await
        .unwrap();
    store
        .store_statuses(&[
            (
                "world-0-server".into(),
                status("w0", TaskState::TaskStaging),
            ),
            ("world-1-server".into(), status("w1", TaskState::TaskFailed)),
        ])
        .await
        .unwrap();
    let all = store.fetch_all_tasks().await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(
        all["world-1-server"].status.as_ref().unwrap().state,
        TaskState::TaskFailed as i32
    );
    assert_eq!(store.fetch_tasks().await.unwrap().len(), 3);
    assert_eq!(
        store.fetch_statuses().await.unwrap()["hello-0-server"]
            .task_id
            .value,
        "h0"
    );

    // A status for an unknown task, or with another task ID, writes nothing.
    let err = store
        .store_status("ghost", &status("g", TaskState::TaskRunning))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UnknownTask { .. }), "{err}");
    let err = store
        .store_statuses(&[
            (
                "hello-0-server".into(),
                status("h0", TaskState::TaskFinished),
            ),
            (
                "world-0-server".into(),
                status("old-id", TaskState::TaskRunning),
            ),
        ])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("task ID w0"), "{err}");
    assert_eq!(
        store
            .fetch_status("hello-0-server")
            .await
            .unwrap()
            .unwrap()
            .state,
        TaskState::TaskRunning as i32
    );

    // Metadata and deletion of a whole task.
    store
        .store_task_metadata("world-1-server", "goal-state-override", "PAUSED")
        .await
        .unwrap();
    assert_eq!(
        store
            .fetch_task_metadata("world-1-server", "goal-state-override")
            .await
            .unwrap()
            .as_deref(),
        Some(&b"PAUSED"[..])
    );
    assert!(store.store_task_metadata("ghost", "k", "v").await.is_err());
    store.delete_task("world-1-server").await.unwrap();
    assert_eq!(
        store.fetch_task_names().await.unwrap(),
        ["hello-0-server", "world-0-server"]
    );
    assert_eq!(store.fetch_status("world-1-server").await.unwrap(), None);
    store.delete_task("world-1-server").await.unwrap(); // idempotent

    // Properties.
    store
        .store_property("last-completed-update-type", "DEPLOY")
        .await
        .unwrap();
    store
        .store_property("hello-0-server:task-status", vec![1u8, 2, 3])
        .await
        .unwrap();
    assert_eq!(
        store.fetch_property_keys().await.unwrap(),
        ["hello-0-server:task-status", "last-completed-update-type"]
    );
    assert_eq!(
        store
            .fetch_property("last-completed-update-type")
            .await
            .unwrap()
            .as_deref(),
        Some(&b"DEPLOY"[..])
    );
    store
        .clear_property("last-completed-update-type")
        .await
        .unwrap();
    assert_eq!(
        store
            .fetch_property("last-completed-update-type")
            .await
            .unwrap(),
        None
    );
    assert!(matches!(
        store.store_property("a/b", "x").await,
        Err(Error::InvalidPath { .. })
    ));

    // Persister: a transaction with a failing check writes nothing.
    let mut txn = Txn::new();
    txn.set("Atomic/a", "1")
        .set("Atomic/b/c", "2")
        .delete("Tasks")
        .require_exists("Atomic/missing");
    let err = p.commit(txn).await.unwrap_err();
    assert!(
        matches!(&err, Error::PreconditionFailed { path } if path.contains("Atomic/missing")),
        "{err}"
    );
    assert_eq!(p.get("Atomic/a").await.unwrap(), None);
    assert_eq!(
        p.get_children("Atomic").await.unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        store.fetch_task_names().await.unwrap().len(),
        2,
        "delete in a failed txn was applied"
    );

    // set_many: ancestors created, delete + set replaces a subtree.
    let mut ops = BTreeMap::new();
    ops.insert("Atomic/a".to_owned(), Some(Bytes::from_static(b"1")));
    ops.insert("Atomic/b/c".to_owned(), Some(Bytes::from_static(b"2")));
    p.set_many(ops).await.unwrap();
    assert_eq!(p.get("Atomic/b").await.unwrap(), Some(Bytes::new()));
    assert_eq!(p.get_children("Atomic").await.unwrap(), ["a", "b"]);
    let mut txn = Txn::new();
    txn.delete("Atomic")
        .set("Atomic/d", "4")
        .require_exists("Atomic/b/c");
    p.commit(txn).await.unwrap();
    assert_eq!(p.get_children("Atomic").await.unwrap(), ["d"]);
    let many = p
        .get_many(&["Atomic/d".into(), "Atomic/a".into()])
        .await
        .unwrap();
    assert_eq!(many["Atomic/d"].as_deref(), Some(&b"4"[..]));
    assert_eq!(many["Atomic/a"], None);
    let err = p
        .set("Big", Bytes::from(vec![0u8; 1_000_001]))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::TooLarge { .. }), "{err}");

    // A corrupt node is an error naming its path, never a panic.
    p.set(
        "Tasks/hello-0-server/TaskStatus",
        Bytes::from_static(&[0xff, 0xff, 0xff]),
    )
    .await
    .unwrap();
    let err = store.fetch_status("hello-0-server").await.unwrap_err();
    assert!(
        matches!(&err, Error::Decode { path, .. } if path.ends_with("Tasks/hello-0-server/TaskStatus")),
        "{err}"
    );
    let err = store.fetch_all_tasks().await.unwrap_err();
    assert!(
        err.to_string().contains("Tasks/hello-0-server/TaskStatus"),
        "{err}"
    );
    p.set(
        "Tasks/world-0-server/TaskInfo",
        Bytes::from(prost::Message::encode_to_vec(&task("other", "w0"))),
    )
    .await
    .unwrap();
    let err = store.fetch_task("world-0-server").await.unwrap_err();
    assert!(err.to_string().contains("names task \"other\""), "{err}");
    store.delete_task("hello-0-server").await.unwrap();
    store.delete_task("world-0-server").await.unwrap();

    // Schema version: newer is refused, garbage is a decode error.
    p.set("SchemaVersion", Bytes::from_static(b"2"))
        .await
        .unwrap();
    let err = StateStore::open(p.clone()).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::SchemaVersion {
                found: 2,
                supported: 1,
                ..
            }
        ),
        "{err}"
    );
    p.set("SchemaVersion", Bytes::from_static(b"one"))
        .await
        .unwrap();
    let err = StateStore::open(p.clone()).await.unwrap_err();
    assert!(
        matches!(&err, Error::Decode { path, .. } if path.ends_with("SchemaVersion")),
        "{err}"
    );
    p.set("SchemaVersion", Bytes::from_static(b"1"))
        .await
        .unwrap();
    let store = StateStore::open(p.clone()).await.unwrap();

    // ConfigStore: target switching, deletion rules, pruning.
    let configs: ConfigStore<Spec, P> = ConfigStore::new(p.clone());
    assert_eq!(configs.target_id().await.unwrap(), None);
    let v1 = configs
        .store(&Spec {
            name: "hello".into(),
            count: 1,
        })
        .await
        .unwrap();
    let v2 = configs
        .store(&Spec {
            name: "hello".into(),
            count: 2,
        })
        .await
        .unwrap();
    configs.set_target(v1).await.unwrap();
    assert_eq!(
        configs.fetch_target().await.unwrap().unwrap(),
        (
            v1,
            Spec {
                name: "hello".into(),
                count: 1
            }
        )
    );
    configs.set_target(v2).await.unwrap();
    assert_eq!(configs.target_id().await.unwrap(), Some(v2));
    assert_eq!(configs.list().await.unwrap(), {
        let mut v = vec![v1, v2];
        v.sort();
        v
    });
    let unknown = uuid::Uuid::new_v4();
    let err = configs.set_target(unknown).await.unwrap_err();
    assert!(matches!(err, Error::UnknownConfig { .. }), "{err}");
    assert_eq!(
        configs.target_id().await.unwrap(),
        Some(v2),
        "a refused target switch changed the target"
    );
    assert!(matches!(
        configs.delete(v2).await,
        Err(Error::DeleteTargetConfig { .. })
    ));
    let v3 = configs
        .store_as_target(&Spec {
            name: "hello".into(),
            count: 3,
        })
        .await
        .unwrap();
    assert_eq!(configs.target_id().await.unwrap(), Some(v3));
    let pruned = configs.prune(&BTreeSet::from([v1])).await.unwrap();
    assert_eq!(pruned, vec![v2]);
    assert_eq!(configs.list().await.unwrap().len(), 2);
    configs.delete(v1).await.unwrap();
    assert_eq!(configs.fetch(v1).await.unwrap(), None);
    p.set(
        &format!("Configurations/{v3}"),
        Bytes::from_static(b"{\"name\": 7}"),
    )
    .await
    .unwrap();
    let err = configs.fetch_target().await.unwrap_err();
    assert!(
        err.to_string().contains(&format!("Configurations/{v3}")),
        "{err}"
    );

    // Uninstall: the whole root goes, twice is fine.
    assert_eq!(
        p.get("").await.unwrap(),
        Some(Bytes::new()),
        "the root is a node"
    );
    store.delete_all().await.unwrap();
    assert_eq!(
        p.get("").await.unwrap(),
        None,
        "the root survived delete_all"
    );
    assert_eq!(p.get_children("").await.unwrap(), Vec::<String>::new());
    assert_eq!(p.get("SchemaVersion").await.unwrap(), None);
    store.delete_all().await.unwrap();
}

#[tokio::test]
async fn suite_on_memory() {
    suite(MemPersister::new()).await;
}

#[tokio::test]
async fn suite_on_file() {
    let dir = tempfile::tempdir().unwrap();
    suite(FilePersister::open(dir.path().join("state")).await.unwrap()).await;
}

#[tokio::test]
async fn suite_on_zookeeper() {
    let config = zk_or_skip!("suite");
    suite(connect(&config).await).await;
}

// === ZooKeeper-specific ===

#[tokio::test]
async fn zk_failed_check_leaves_nothing_written() {
    let config = zk_or_skip!("atomic");
    let p = connect(&config).await;
    p.set("Existing", Bytes::from_static(b"old")).await.unwrap();
    let mut txn = Txn::new();
    for i in 0..50 {
        txn.set(format!("Batch/n{i}/leaf"), vec![i as u8; 100]);
    }
    txn.set("Existing", "new").require_exists("Missing");
    let err = p.commit(txn).await.unwrap_err();
    assert!(
        matches!(&err, Error::PreconditionFailed { path } if path == &format!("{}/Missing", config.root)),
        "{err}"
    );
    // Seen through a second session: nothing of the transaction exists.
    let other = connect(&config).await;
    assert_eq!(other.get_children("").await.unwrap(), ["Existing"]);
    assert_eq!(
        other.get("Existing").await.unwrap().as_deref(),
        Some(&b"old"[..])
    );
    p.delete_root().await.unwrap();
}

#[tokio::test]
async fn zk_second_contender_waits_for_release() {
    let config = zk_or_skip!("lock-release");
    let (a, b) = (connect(&config).await, connect(&config).await);
    let lock_a = a.leader_lock().await.unwrap();
    let waiting = tokio::spawn(async move { b.leader_lock().await });
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        !waiting.is_finished(),
        "second contender got the lock while the first held it"
    );
    assert!(!lock_a.is_lost());
    lock_a.release().await.unwrap();
    let lock_b = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(
        lock_b
            .location()
            .starts_with(&format!("{}/lock/", config.root)),
        "{}",
        lock_b.location()
    );
    // The released leader may write again (unfenced); the new one is fenced.
    a.set("AfterRelease", Bytes::new()).await.unwrap();
    lock_b.release().await.unwrap();
    a.delete_root().await.unwrap();
}

#[tokio::test]
async fn zk_partitioned_leader_steps_down_and_its_session_expires() {
    let config = zk_or_skip!("lock-session");
    // `a` reaches ZooKeeper through a proxy that can cut it off; `b` directly.
    let partition = Partition::start(&config.connect).await.unwrap();
    let config_a = ZkConfig {
        connect: partition.connect(),
        ..config.clone()
    };
    let (a, b) = (connect(&config_a).await, connect(&config).await);
    let lock_a = a.leader_lock().await.unwrap();
    let lost = lock_a.lost();
    let waiting = tokio::spawn({
        let b = b.clone();
        async move { b.leader_lock().await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!waiting.is_finished());

    partition.cut();
    // The leader gives up after half its session timeout without the
    // server: before the server can expire the session and hand over.
    let reason = tokio::time::timeout(Duration::from_secs(10), lost)
        .await
        .expect("leadership loss not reported");
    assert!(
        matches!(reason, LeadershipLost::Disconnected { .. }),
        "{reason}"
    );
    assert!(lock_a.is_lost());
    assert!(
        !waiting.is_finished(),
        "the lock was handed over before the old leader stepped down"
    );
    // The server expires the session; the waiting contender takes over.
    let lock_b = tokio::time::timeout(Duration::from_secs(15), waiting)
        .await
        .expect("the lock was not handed over")
        .unwrap()
        .unwrap();
    assert!(!lock_b.is_lost());

    // Back on the network, the old session is over for good: no silent new
    // session, no write.
    partition.heal();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        match a.get("anything").await {
            Err(err) if err.is_session_expired() => break,
            other => assert!(
                tokio::time::Instant::now() < deadline,
                "the old session still answers: {other:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(a.set("Fenced", Bytes::new()).await.is_err());
    b.set("ByNewLeader", Bytes::new()).await.unwrap();
    assert_eq!(b.get("Fenced").await.unwrap(), None);
    drop(lock_a);
    lock_b.release().await.unwrap();
    b.delete_root().await.unwrap();
}

#[tokio::test]
async fn zk_deposed_leader_cannot_write() {
    let config = zk_or_skip!("fence");
    let (a, b) = (connect(&config).await, connect(&config).await);
    let lock_a = a.leader_lock().await.unwrap();
    a.set("Ok", Bytes::new()).await.unwrap();
    // Someone removes the lock node (an operator, an uninstall elsewhere).
    let mut txn = Txn::new();
    txn.delete("lock");
    b.commit(txn).await.unwrap();
    let reason = tokio::time::timeout(Duration::from_secs(10), lock_a.lost())
        .await
        .unwrap();
    assert_eq!(reason, LeadershipLost::LockNodeDeleted);
    let err = a.set("Stale", Bytes::new()).await.unwrap_err();
    assert!(matches!(err, Error::NotLeader { .. }), "{err}");
    assert_eq!(b.get("Stale").await.unwrap(), None);
    b.delete_root().await.unwrap();
}

#[tokio::test]
async fn zk_delete_root_is_recursive_chunked_and_idempotent() {
    let config = zk_or_skip!("uninstall");
    let p = connect(&config).await;
    let store = StateStore::open(p.clone()).await.unwrap();
    let lock = p.leader_lock().await.unwrap();
    // 1,500 tasks with statuses: ~4,500 nodes, several delete transactions.
    for chunk in (0..1500).collect::<Vec<_>>().chunks(500) {
        let tasks: Vec<TaskInfo> = chunk
            .iter()
            .map(|i| task(&format!("t-{i}"), &format!("id-{i}")))
            .collect();
        store.store_tasks(&tasks).await.unwrap();
        let statuses: Vec<(String, TaskStatus)> = chunk
            .iter()
            .map(|i| {
                (
                    format!("t-{i}"),
                    status(&format!("id-{i}"), TaskState::TaskRunning),
                )
            })
            .collect();
        store.store_statuses(&statuses).await.unwrap();
    }
    store.store_property("uninstalling", "true").await.unwrap();
    assert_eq!(store.fetch_all_tasks().await.unwrap().len(), 1500);

    store.delete_all().await.unwrap();
    let other = connect(&config).await;
    assert_eq!(
        other.get("").await.unwrap(),
        None,
        "state root still exists"
    );
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(10), lock.lost())
            .await
            .unwrap(),
        LeadershipLost::LockNodeDeleted
    );
    other.delete_root().await.unwrap();
    drop(lock);
}

#[tokio::test]
async fn zk_restart_path_reads_back_what_was_written() {
    let config = zk_or_skip!("restart");
    {
        let p = connect(&config).await;
        let store = StateStore::open(p).await.unwrap();
        store
            .store_framework_id(&FrameworkId { value: "fw".into() })
            .await
            .unwrap();
        store
            .store_tasks(&[task("a", "a1"), task("b", "b1")])
            .await
            .unwrap();
        store
            .store_status("a", &status("a1", TaskState::TaskRunning))
            .await
            .unwrap();
    }
    // A new process (session) on the same root.
    let p = connect(&config).await;
    let store = StateStore::open(p.clone()).await.unwrap();
    assert_eq!(
        store.fetch_framework_id().await.unwrap().unwrap().value,
        "fw"
    );
    let all = store.fetch_all_tasks().await.unwrap();
    assert_eq!(all.keys().collect::<Vec<_>>(), ["a", "b"]);
    assert!(all["a"].status.is_some() && all["b"].status.is_none());
    p.delete_root().await.unwrap();
}
