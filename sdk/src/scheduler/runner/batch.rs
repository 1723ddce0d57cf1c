//! One batch's IO: the stores and calls the core asked for, carried out
//! with overlap.
//!
//! Stores are coalesced (adjacent stores of one kind into few transactions,
//! a later store of a task replacing the earlier one in place) and committed
//! one transaction after another. The calls go to the [`Outbox`], which
//! sends each once the stores before it are committed — an ACCEPT leaves as
//! soon as the transaction holding its TaskInfos is, while the next one is
//! being written — and keeps sending while the loop takes the next batch.
//!
//! # Guarantees
//! * A call never leaves before every store that preceded it in the
//!   effect list is committed (TaskInfos before their ACCEPT, statuses
//!   before their acknowledgement). A later store of the same task takes
//!   the earlier one's place, so it is committed before those calls too.
//! * ACCEPT, DECLINE, ACKNOWLEDGE and KILL (independent of one another) go
//!   out [`CALLS_IN_FLIGHT`] at a time; any other call (REVIVE, SUPPRESS,
//!   RECONCILE, ...) waits for every call of its batch before it.
//! * Every call but ACKNOWLEDGE waits until the batches before its own
//!   sent all their calls: a KILL never overtakes the ACCEPT that launched
//!   its task, nor a DECLINE a REVIVE. An acknowledgement depends on
//!   nothing but its stored status, and answering it early lets the master
//!   send the task's next update.
//! * At most [`MAX_QUEUED_CALLS`] calls wait in the outbox: beyond that the
//!   loop waits before it hands over more.
//!
//! # Errors
//! A failed store ends the batch: calls still waiting for it never leave.
//! Failed calls are logged (the master's answer does not change state).

use std::collections::HashMap;

use std::sync::Arc;

use futures::StreamExt as _;
use futures::stream::FuturesUnordered;
use plinth_proto::v1::scheduler::{Call, call};
use plinth_proto::v1::{TaskInfo, TaskStatus};
use prost::Message as _;
use tokio::sync::{Semaphore, oneshot, watch};
use tokio::task::JoinSet;

use crate::mesos::Caller;
use crate::state::{AnyPersister, StateStore};

/// Calls to the master in flight at once (ACCEPT, DECLINE, ACKNOWLEDGE, KILL).
const CALLS_IN_FLIGHT: usize = 32;
/// Calls handed to the [`Outbox`] and not sent yet, at most (a batch with
/// more waits for the outbox to drain).
const MAX_QUEUED_CALLS: usize = 4096;
/// Estimated bytes per state transaction when stores are coalesced (half
/// the persister's transaction limit).
const STORE_BATCH_BYTES: usize = crate::state::MAX_TXN_BYTES / 2;
/// Allowance per stored item for its paths and parent nodes.
const ITEM_OVERHEAD_BYTES: usize = 256;

/// The IO of one batch, in the order the core asked for it.
#[derive(Debug, Default)]
pub(super) struct BatchIo {
    runs: Vec<Run>,
    /// Stored items so far (over all runs): what a call added now waits for.
    items: usize,
    calls: Vec<Gated>,
}

/// Adjacent stores of one kind.
#[derive(Debug)]
enum Run {
    Tasks(Keyed<TaskInfo>),
    Statuses(Keyed<(String, TaskStatus)>),
    Property(String, Vec<u8>),
}

/// Items by task name; a later item of a name replaces the earlier one in
/// its place, so calls that waited for the earlier one wait for it.
#[derive(Debug, Default)]
struct Keyed<T> {
    items: Vec<T>,
    at: HashMap<String, usize>,
}

/// A call and how many stored items must be committed before it leaves.
#[derive(Debug)]
struct Gated {
    after: usize,
    call: Call,
}

// === impl BatchIo ===

impl BatchIo {
    /// Stores TaskInfos (before the calls added after them).
    pub(super) fn store_tasks(&mut self, infos: Vec<TaskInfo>) {
        if !matches!(self.runs.last(), Some(Run::Tasks(_))) {
            self.runs.push(Run::Tasks(Keyed::default()));
        }
        let Some(Run::Tasks(run)) = self.runs.last_mut() else {
            unreachable!("a task run was just pushed")
        };
        for info in infos {
            let name = info.name.clone();
            self.items += usize::from(run.put(name, info));
        }
    }

    /// Stores a task's latest status (before the calls added after it).
    pub(super) fn store_status(&mut self, name: String, status: TaskStatus) {
        if !matches!(self.runs.last(), Some(Run::Statuses(_))) {
            self.runs.push(Run::Statuses(Keyed::default()));
        }
        let Some(Run::Statuses(run)) = self.runs.last_mut() else {
            unreachable!("a status run was just pushed")
        };
        self.items += usize::from(run.put(name.clone(), (name, status)));
    }

    /// Stores a property (before the calls added after it).
    pub(super) fn store_property(&mut self, key: String, value: Vec<u8>) {
        self.runs.push(Run::Property(key, value));
        self.items += 1;
    }

    /// Sends a call once the stores added before it are committed.
    pub(super) fn call(&mut self, call: Call) {
        self.calls.push(Gated {
            after: self.items,
            call,
        });
    }

    /// Commits the stores in order and hands the calls to `outbox`, which
    /// sends each as soon as the stores before it are committed.
    ///
    /// # Errors
    /// A store failed; the calls that waited for it are not sent.
    pub(super) async fn run(
        self,
        store: &StateStore<AnyPersister>,
        outbox: &mut Outbox,
    ) -> Result<(), crate::state::Error> {
        // When the stores end (or fail) the sender is dropped: calls still
        // waiting then know they must not leave.
        let (committed_tx, committed) = watch::channel(0);
        if !self.calls.is_empty() {
            outbox.hand_over(self.calls, committed).await;
        }
        commit(self.runs, store, committed_tx).await
    }
}

/// Sends the calls of every batch, in tasks of their own (see the module
/// docs for the order).
#[derive(Debug)]
pub(super) struct Outbox {
    caller: Caller,
    tasks: JoinSet<()>,
    /// Ends when the batch handed over last has sent all its calls (and,
    /// so, every batch before it).
    last: Option<oneshot::Receiver<()>>,
    /// Calls in flight, over all batches.
    in_flight: Arc<Semaphore>,
    /// Calls handed over and not sent yet.
    queued: Arc<Semaphore>,
}

// === impl Outbox ===

impl Outbox {
    pub(super) fn new(caller: Caller) -> Self {
        Self {
            caller,
            tasks: JoinSet::new(),
            last: None,
            in_flight: Arc::new(Semaphore::new(CALLS_IN_FLIGHT)),
            queued: Arc::new(Semaphore::new(MAX_QUEUED_CALLS)),
        }
    }

    /// Waits until every call handed over so far has been sent (or failed).
    pub(super) async fn flush(&mut self) {
        if let Some(last) = self.last.take() {
            // An error only says the batch's task ended: what flush waits for.
            let _ = last.await;
        }
        while self.tasks.try_join_next().is_some() {}
    }

    /// Stops sending: calls not sent yet never leave.
    pub(super) fn abort(&mut self) {
        self.tasks.abort_all();
        self.last = None;
    }

    async fn hand_over(&mut self, calls: Vec<Gated>, committed: watch::Receiver<usize>) {
        while self.tasks.try_join_next().is_some() {}
        let wanted = u32::try_from(calls.len().min(MAX_QUEUED_CALLS)).unwrap_or(u32::MAX);
        let Ok(queued) = Arc::clone(&self.queued).acquire_many_owned(wanted).await else {
            unreachable!("the outbox never closes its semaphore")
        };
        let (done, last) = oneshot::channel::<()>();
        let previous = self.last.replace(last);
        let caller = self.caller.clone();
        let in_flight = Arc::clone(&self.in_flight);
        self.tasks.spawn(async move {
            send_calls(calls, committed, previous, &caller, &in_flight).await;
            drop((done, queued));
        });
    }
}

// === impl Keyed ===

impl<T> Keyed<T> {
    /// Adds `item` for `name`, or replaces the earlier one; whether it was new.
    fn put(&mut self, name: String, item: T) -> bool {
        match self.at.get(&name) {
            Some(&i) => {
                self.items[i] = item;
                false
            }
            None => {
                self.at.insert(name, self.items.len());
                self.items.push(item);
                true
            }
        }
    }
}

/// Commits `runs` in order, a transaction at a time, publishing how many
/// items are committed after each.
async fn commit(
    runs: Vec<Run>,
    store: &StateStore<AnyPersister>,
    committed: watch::Sender<usize>,
) -> Result<(), crate::state::Error> {
    let mut done = 0;
    for run in runs {
        match run {
            Run::Tasks(run) => {
                for chunk in chunks(&run.items, |t| t.encoded_len() + 2 * t.name.len()) {
                    store.store_tasks(chunk).await?;
                    done += chunk.len();
                    committed.send_replace(done);
                }
            }
            Run::Statuses(run) => {
                for chunk in chunks(&run.items, |(n, s)| s.encoded_len() + 2 * n.len()) {
                    store.store_statuses(chunk).await?;
                    done += chunk.len();
                    committed.send_replace(done);
                }
            }
            Run::Property(key, value) => {
                store.store_property(&key, value).await?;
                done += 1;
                committed.send_replace(done);
            }
        }
    }
    Ok(())
}

/// Splits `items` into chunks whose estimated size (`size` plus a per-item
/// allowance for paths and parent nodes) stays well under one transaction.
fn chunks<T>(items: &[T], size: impl Fn(&T) -> usize) -> Vec<&[T]> {
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, item) in items.iter().enumerate() {
        let n = size(item) + ITEM_OVERHEAD_BYTES;
        if i > start && bytes + n > STORE_BATCH_BYTES {
            chunks.push(&items[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += n;
    }
    if start < items.len() {
        chunks.push(&items[start..]);
    }
    chunks
}

/// Sends one batch's `calls` in order, each once `committed` reached what
/// it waits for and, unless it is an ACKNOWLEDGE, once the `previous`
/// batch sent all of its calls: runs of independent calls go out together
/// (each holding an `in_flight` permit), any other call after everything of
/// its batch before it.
async fn send_calls(
    calls: Vec<Gated>,
    committed: watch::Receiver<usize>,
    mut previous: Option<oneshot::Receiver<()>>,
    caller: &Caller,
    in_flight: &Semaphore,
) {
    let mut sending = FuturesUnordered::new();
    for Gated { after, call } in calls {
        let kind = call.r#type.and_then(|t| call::Type::try_from(t).ok());
        if kind != Some(call::Type::Acknowledge)
            && let Some(previous) = previous.take()
        {
            let _ = previous.await;
        }
        let independent = matches!(
            kind,
            Some(
                call::Type::Accept
                    | call::Type::Decline
                    | call::Type::Acknowledge
                    | call::Type::Kill
            )
        );
        if !independent {
            while sending.next().await.is_some() {}
        }
        let mut committed = committed.clone();
        let gated = async move {
            // Closed short of `after`: a store failed, and this call must
            // not leave.
            if committed.wait_for(|&done| done >= after).await.is_ok() {
                let _permit = in_flight.acquire().await;
                send(caller, call).await;
            }
        };
        if independent {
            sending.push(gated);
        } else {
            gated.await;
        }
    }
    while sending.next().await.is_some() {}
    // Done means every batch before is done too (what `Outbox::flush` needs).
    if let Some(previous) = previous {
        let _ = previous.await;
    }
}

/// Sends one call; a failure is logged (the core does not wait for answers).
pub(super) async fn send(caller: &Caller, call: Call) {
    if let Err(e) = caller.call(call).await {
        tracing::warn!(error = %e, "call to the master failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &str, id: &str) -> TaskInfo {
        TaskInfo {
            name: name.into(),
            task_id: plinth_proto::v1::TaskId { value: id.into() },
            ..Default::default()
        }
    }

    #[test]
    fn a_later_store_of_a_task_replaces_the_earlier_one_in_place() {
        let mut io = BatchIo::default();
        io.store_tasks(vec![info("a", "1"), info("b", "1")]);
        io.call(Call::default());
        io.store_tasks(vec![info("a", "2")]);
        io.call(Call::default());
        let Some(Run::Tasks(run)) = io.runs.first() else {
            panic!("one task run expected: {:?}", io.runs)
        };
        let ids: Vec<&str> = run.items.iter().map(|t| t.task_id.value.as_str()).collect();
        assert_eq!(ids, ["2", "1"]);
        // Both calls wait for both tasks: the first for the replaced one's place.
        let after: Vec<usize> = io.calls.iter().map(|c| c.after).collect();
        assert_eq!(after, [2, 2]);
    }

    #[test]
    fn runs_of_other_kinds_keep_their_order() {
        let mut io = BatchIo::default();
        io.store_tasks(vec![info("a", "1")]);
        io.store_status("a".into(), TaskStatus::default());
        io.call(Call::default());
        io.store_tasks(vec![info("a", "2")]);
        assert_eq!(io.runs.len(), 3);
        assert_eq!(io.calls[0].after, 2);
        assert_eq!(io.items, 3);
    }

    #[test]
    fn chunks_stay_under_the_batch_size() {
        let items = vec![STORE_BATCH_BYTES / 3; 7];
        let sizes: Vec<usize> = chunks(&items, |n| *n).iter().map(|c| c.len()).collect();
        assert_eq!(sizes, [2, 2, 2, 1]);
    }
}
