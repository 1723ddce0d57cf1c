//! Memory backend: simulated sessions, leader lock hand-over on session
//! expiry, and injected faults.

use std::time::Duration;

use bytes::Bytes;
use plinth::state::{Error, LeadershipLost, MemPersister, Persister, StateStore};

#[tokio::test]
async fn session_expiry_ends_leadership_and_hands_over() {
    let a = MemPersister::new();
    let b = a.new_session();
    let lock_a = a.leader_lock().await.unwrap();
    let waiting = tokio::spawn({
        let b = b.clone();
        async move { b.leader_lock().await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!waiting.is_finished());
    a.expire_session();
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(1), lock_a.lost())
            .await
            .unwrap(),
        LeadershipLost::SessionExpired
    );
    let lock_b = tokio::time::timeout(Duration::from_secs(1), waiting)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(!lock_b.is_lost());
    assert!(a.get("x").await.unwrap_err().is_session_expired());
    b.set("x", Bytes::new()).await.unwrap();
    lock_b.release().await.unwrap();
    assert_eq!(lock_a.lost_reason(), Some(LeadershipLost::SessionExpired));
}

#[tokio::test]
async fn faults_fail_without_writing_or_write_without_acking() {
    let p = MemPersister::new();
    let store = StateStore::open(p.clone()).await.unwrap();
    p.faults().fail_next_commits(1);
    let err = store.store_property("k", "v").await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert_eq!(store.fetch_property("k").await.unwrap(), None);

    p.faults().lose_next_commit_acks(1);
    store.store_property("k", "v").await.unwrap_err();
    assert_eq!(store.fetch_property("k").await.unwrap().unwrap(), "v");

    p.faults().fail_next_reads(1);
    assert!(matches!(
        store.fetch_property("k").await,
        Err(Error::Get { .. })
    ));
    assert!(store.fetch_property("k").await.is_ok());
    assert!(p.snapshot().contains_key("Properties/k"));
}
