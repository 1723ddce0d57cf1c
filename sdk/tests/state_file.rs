//! File backend: crash consistency of multi-node writes (crashes injected
//! between the journal and apply steps, then a "restarted" persister on the
//! same directory), journal damage, and leader-lock exclusion between two
//! `FilePersister`s on one directory.

use std::time::Duration;

use bytes::Bytes;
use plinth::state::{CrashPoint, Error, FilePersister, Persister, StateStore, Txn};

/// A transaction touching several nodes, replacing the old state.
fn new_generation() -> Txn {
    let mut txn = Txn::new();
    txn.delete("Gen")
        .set("Gen/a", "new-a")
        .set("Gen/b/c", "new-c")
        .set("Gen/d", "new-d")
        .set("Marker", "new");
    txn
}

async fn write_old_generation(p: &FilePersister) {
    let mut txn = Txn::new();
    txn.set("Gen/a", "old-a")
        .set("Gen/old", "old")
        .set("Marker", "old");
    p.commit(txn).await.unwrap();
}

async fn generation(p: &FilePersister) -> &'static str {
    let marker = p.get("Marker").await.unwrap().unwrap();
    let children = p.get_children("Gen").await.unwrap();
    match &marker[..] {
        b"old" => {
            assert_eq!(children, ["a", "old"]);
            assert_eq!(p.get("Gen/a").await.unwrap().unwrap(), "old-a");
            "old"
        }
        b"new" => {
            assert_eq!(children, ["a", "b", "d"]);
            assert_eq!(p.get("Gen/a").await.unwrap().unwrap(), "new-a");
            assert_eq!(p.get("Gen/b/c").await.unwrap().unwrap(), "new-c");
            "new"
        }
        other => panic!("half-applied state: marker {other:?}, children {children:?}"),
    }
}

#[tokio::test]
async fn crash_at_every_step_leaves_all_or_nothing() {
    let cases = [
        (CrashPoint::BeforeJournalCommit, "old"),
        (CrashPoint::AfterJournalCommit, "new"),
        (CrashPoint::MidApply(0), "new"),
        (CrashPoint::MidApply(1), "new"),
        (CrashPoint::MidApply(3), "new"),
    ];
    for (point, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        let p = FilePersister::open(dir.path()).await.unwrap();
        write_old_generation(&p).await;
        p.inject_crash(point);
        let err = p.commit(new_generation()).await.unwrap_err();
        assert!(
            matches!(err, Error::InjectedCrash { .. }),
            "{point:?}: {err}"
        );
        drop(p);
        // The process "restarts" on the same directory.
        let restarted = FilePersister::open(dir.path()).await.unwrap();
        assert_eq!(
            generation(&restarted).await,
            expected,
            "after a crash at {point:?}"
        );
        assert!(!dir.path().join("journal").exists() && !dir.path().join("journal.tmp").exists());
        // And it keeps working.
        restarted.commit(new_generation()).await.unwrap();
        assert_eq!(generation(&restarted).await, "new");
    }
}

#[tokio::test]
async fn a_live_handle_recovers_before_its_next_operation() {
    let dir = tempfile::tempdir().unwrap();
    let p = FilePersister::open(dir.path()).await.unwrap();
    write_old_generation(&p).await;
    p.inject_crash(CrashPoint::MidApply(2));
    p.commit(new_generation()).await.unwrap_err();
    // Another handle (another process) reading the directory sees all of it.
    let other = FilePersister::open(dir.path()).await.unwrap();
    assert_eq!(generation(&other).await, "new");
    assert_eq!(generation(&p).await, "new");
}

#[tokio::test]
async fn a_damaged_journal_is_reported_not_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let p = FilePersister::open(dir.path()).await.unwrap();
    write_old_generation(&p).await;
    p.inject_crash(CrashPoint::AfterJournalCommit);
    p.commit(new_generation()).await.unwrap_err();
    drop(p);
    let journal = dir.path().join("journal");
    let mut bytes = std::fs::read(&journal).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0x55;
    std::fs::write(&journal, bytes).unwrap();
    let err = FilePersister::open(dir.path()).await.unwrap_err();
    assert!(
        matches!(&err, Error::CorruptJournal { path, .. } if path.ends_with("journal")),
        "{err}"
    );
    assert!(err.to_string().contains("checksum"), "{err}");
}

#[tokio::test]
async fn state_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = StateStore::open(FilePersister::open(dir.path()).await.unwrap())
            .await
            .unwrap();
        store
            .store_property(".odd name: %é", Bytes::from_static(b"v"))
            .await
            .unwrap();
    }
    let store = StateStore::open(FilePersister::open(dir.path()).await.unwrap())
        .await
        .unwrap();
    assert_eq!(
        store.fetch_property_keys().await.unwrap(),
        [".odd name: %é"]
    );
    assert_eq!(
        store
            .fetch_property(".odd name: %é")
            .await
            .unwrap()
            .unwrap(),
        "v"
    );
}

#[tokio::test]
async fn leader_lock_excludes_a_second_persister_on_the_same_dir() {
    let dir = tempfile::tempdir().unwrap();
    let a = FilePersister::open(dir.path()).await.unwrap();
    let b = FilePersister::open(dir.path()).await.unwrap();
    let lock_a = a.leader_lock().await.unwrap();
    let waiting = tokio::spawn(async move { b.leader_lock().await });
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(!waiting.is_finished(), "two holders of one file lock");
    assert!(!lock_a.is_lost());
    lock_a.release().await.unwrap();
    let lock_b = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(lock_b.location().ends_with(".lock"));
    // Dropping the holder releases too.
    drop(lock_b);
    tokio::time::timeout(Duration::from_secs(5), a.leader_lock())
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn delete_root_keeps_only_the_lock_files() {
    let dir = tempfile::tempdir().unwrap();
    let p = FilePersister::open(dir.path()).await.unwrap();
    let _lock = p.leader_lock().await.unwrap();
    write_old_generation(&p).await;
    p.delete_root().await.unwrap();
    p.delete_root().await.unwrap();
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(left, [".lock", ".write-lock"]);
    assert_eq!(p.get_children("").await.unwrap(), Vec::<String>::new());
}
