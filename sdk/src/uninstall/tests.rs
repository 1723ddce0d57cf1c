//! Unit tests of the uninstall decisions (explicit instants, hand-built offers).

use std::time::{Duration, Instant};

use plinth_proto::v1::offer::operation;
use plinth_proto::v1::resource::{DiskInfo, ReservationInfo, disk_info, reservation_info};
use plinth_proto::v1::scheduler::{Call, call};
use plinth_proto::v1::{
    AgentId, FrameworkId, Label, Labels, Offer, OfferId, Resource, TaskId, TaskState, TaskStatus,
    value,
};

use super::*;

const ROLE: &str = "svc-role";
const FW: &str = "fw-1";

fn timings() -> Timings {
    Timings {
        quiet: Duration::from_secs(3),
        kill_retry: Duration::from_secs(5),
        reconcile_every: Duration::from_secs(10),
        revive_every: Duration::from_secs(5),
    }
}

fn reserved(name: &str, amount: f64, resource_id: &str, framework_id: &str) -> Resource {
    let labels = Labels {
        labels: vec![
            Label {
                key: "resource_id".into(),
                value: Some(resource_id.into()),
            },
            Label {
                key: "framework_id".into(),
                value: Some(framework_id.into()),
            },
        ],
    };
    Resource {
        name: name.into(),
        r#type: value::Type::Scalar as i32,
        scalar: Some(value::Scalar { value: amount }),
        reservations: vec![ReservationInfo {
            r#type: Some(reservation_info::Type::Dynamic as i32),
            role: Some(ROLE.into()),
            principal: Some("svc-principal".into()),
            labels: Some(labels),
        }],
        ..Default::default()
    }
}

fn volume(resource_id: &str, framework_id: &str) -> Resource {
    let mut r = reserved("disk", 25.0, resource_id, framework_id);
    r.disk = Some(Box::new(DiskInfo {
        persistence: Some(disk_info::Persistence {
            id: format!("vol-{resource_id}"),
            principal: Some("svc-principal".into()),
        }),
        volume: Some(plinth_proto::v1::Volume {
            container_path: "data".into(),
            mode: plinth_proto::v1::volume::Mode::Rw as i32,
            ..Default::default()
        }),
        ..Default::default()
    }));
    r
}

fn unreserved(name: &str, amount: f64) -> Resource {
    Resource {
        name: name.into(),
        r#type: value::Type::Scalar as i32,
        scalar: Some(value::Scalar { value: amount }),
        ..Default::default()
    }
}

fn offer(id: &str, agent: &str, resources: Vec<Resource>) -> Offer {
    Offer {
        id: OfferId { value: id.into() },
        framework_id: FrameworkId { value: FW.into() },
        agent_id: AgentId {
            value: agent.into(),
        },
        hostname: agent.into(),
        resources,
        ..Default::default()
    }
}

fn status(task_id: &str, state: TaskState, uuid: bool) -> TaskStatus {
    TaskStatus {
        task_id: TaskId {
            value: task_id.into(),
        },
        state: state as i32,
        agent_id: Some(AgentId { value: "a1".into() }),
        uuid: uuid.then(|| vec![1, 2, 3]),
        ..Default::default()
    }
}

fn known(name: &str, task_id: &str, state: Option<TaskState>) -> KnownTask {
    KnownTask {
        name: name.into(),
        task_id: task_id.into(),
        agent_id: Some(AgentId { value: "a1".into() }),
        state,
    }
}

fn calls(actions: &[Action]) -> Vec<&Call> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Call(c) => Some(c.as_ref()),
            Action::Finish => None,
        })
        .collect()
}

fn kind(c: &Call) -> call::Type {
    call::Type::try_from(c.r#type.unwrap()).unwrap()
}

fn kinds(actions: &[Action]) -> Vec<call::Type> {
    calls(actions).into_iter().map(kind).collect()
}

fn core(tasks: Vec<KnownTask>) -> UninstallCore {
    UninstallCore::new(ROLE, [FW.to_owned()], tasks, timings())
}

#[test]
fn subscribing_reconciles_kills_live_tasks_and_revives() {
    let t0 = Instant::now();
    let mut c = core(vec![
        known("hello-0-server", "t-hello", Some(TaskState::TaskRunning)),
        known("world-0-server", "t-world", Some(TaskState::TaskFinished)),
        known("world-1-server", "", None),
    ]);
    assert_eq!(c.stage(), Stage::Subscribing);
    let actions = c.handle(Input::Subscribed(FrameworkId { value: FW.into() }), t0);
    assert_eq!(
        kinds(&actions),
        [
            call::Type::Reconcile,
            call::Type::Reconcile,
            call::Type::Kill,
            call::Type::Revive
        ]
    );
    let explicit = calls(&actions)[0].reconcile.as_ref().unwrap();
    assert_eq!(
        explicit.tasks.len(),
        1,
        "only tasks not known gone are reconciled"
    );
    assert!(
        calls(&actions)[1]
            .reconcile
            .as_ref()
            .unwrap()
            .tasks
            .is_empty(),
        "then implicitly"
    );
    assert_eq!(
        calls(&actions)[2].kill.as_ref().unwrap().task_id.value,
        "t-hello"
    );
    assert_eq!(calls(&actions)[3].revive.as_ref().unwrap().roles, [ROLE]);
    assert_eq!(c.stage(), Stage::Releasing);
    assert_eq!(c.tasks_left(), ["hello-0-server"]);
}

#[test]
fn tasks_the_master_reports_are_killed_and_statuses_acknowledged() {
    let t0 = Instant::now();
    let mut c = core(vec![]);
    c.handle(Input::Subscribed(FrameworkId { value: FW.into() }), t0);
    // Implicit reconciliation finds a task the state store never recorded.
    let actions = c.handle(
        Input::Update(Box::new(status("t-zombie", TaskState::TaskRunning, false))),
        t0,
    );
    assert_eq!(kinds(&actions), [call::Type::Kill]);
    assert_eq!(c.tasks_left(), ["t-zombie"]);
    let actions = c.handle(
        Input::Update(Box::new(status("t-zombie", TaskState::TaskKilled, true))),
        t0,
    );
    assert_eq!(kinds(&actions), [call::Type::Acknowledge]);
    assert!(c.tasks_left().is_empty());
}

#[test]
fn kills_are_retried_until_the_task_is_gone() {
    let t0 = Instant::now();
    let mut c = core(vec![known(
        "hello-0-server",
        "t-hello",
        Some(TaskState::TaskRunning),
    )]);
    c.handle(Input::Subscribed(FrameworkId { value: FW.into() }), t0);
    assert!(kinds(&c.handle(Input::Tick, t0 + Duration::from_secs(1))).is_empty());
    let retry = c.handle(Input::Tick, t0 + Duration::from_secs(5));
    assert_eq!(kinds(&retry), [call::Type::Kill, call::Type::Revive]);
    let later = c.handle(Input::Tick, t0 + Duration::from_secs(10));
    assert_eq!(
        kinds(&later),
        [call::Type::Kill, call::Type::Reconcile, call::Type::Revive]
    );
    // UNREACHABLE is not gone: keep trying. UNKNOWN is.
    c.handle(
        Input::Update(Box::new(status(
            "t-hello",
            TaskState::TaskUnreachable,
            false,
        ))),
        t0 + Duration::from_millis(10_500),
    );
    assert_eq!(c.tasks_left(), ["hello-0-server"]);
    c.handle(
        Input::Update(Box::new(status("t-hello", TaskState::TaskUnknown, false))),
        t0 + Duration::from_secs(12),
    );
    assert!(c.tasks_left().is_empty());
    assert_eq!(
        c.progress().kills,
        3,
        "no kill for UNREACHABLE within a second of the last one"
    );
}

#[test]
fn our_reservations_are_destroyed_and_unreserved_and_the_rest_declined() {
    let t0 = Instant::now();
    let mut c = core(vec![]);
    c.handle(Input::Subscribed(FrameworkId { value: FW.into() }), t0);
    let ours = offer(
        "o1",
        "a1",
        vec![
            reserved("cpus", 0.5, "r-cpu", FW),
            volume("r-vol", FW),
            reserved("mem", 64.0, "r-theirs", "other-framework"),
            unreserved("cpus", 3.0),
        ],
    );
    let plain = offer("o2", "a2", vec![unreserved("cpus", 4.0)]);
    let actions = c.handle(Input::Offers(vec![ours, plain]), t0);
    let calls = calls(&actions);
    assert_eq!(
        calls.iter().map(|c| kind(c)).collect::<Vec<_>>(),
        [call::Type::Accept, call::Type::Decline]
    );
    let accept = calls[0].accept.as_ref().unwrap();
    assert_eq!(accept.offer_ids[0].value, "o1");
    let ops: Vec<operation::Type> = accept
        .operations
        .iter()
        .map(|o| operation::Type::try_from(o.r#type.unwrap()).unwrap())
        .collect();
    assert_eq!(ops, [operation::Type::Destroy, operation::Type::Unreserve]);
    let destroyed = &accept.operations[0].destroy.as_ref().unwrap().volumes;
    assert_eq!(destroyed.len(), 1);
    let unreserved_ids: Vec<String> = accept.operations[1]
        .unreserve
        .as_ref()
        .unwrap()
        .resources
        .iter()
        .map(|r| {
            r.reservations[0].labels.as_ref().unwrap().labels[0]
                .value
                .clone()
                .unwrap()
        })
        .collect();
    assert_eq!(
        unreserved_ids,
        ["r-cpu", "r-vol"],
        "never another framework's reservation"
    );
    assert!(
        accept.operations[1]
            .unreserve
            .as_ref()
            .unwrap()
            .resources
            .iter()
            .all(|r| r.disk.as_ref().is_none_or(|d| d.persistence.is_none())),
        "the volume is unreserved as plain disk after DESTROY"
    );
    assert_eq!(calls[1].decline.as_ref().unwrap().offer_ids[0].value, "o2");
    assert_eq!(c.progress().released.len(), 2);
    assert_eq!(c.progress().volumes_destroyed, 1);
}

#[test]
fn finish_waits_for_tasks_quiet_and_a_clean_reoffer_from_every_released_agent() {
    let t0 = Instant::now();
    let s = |n: u64| t0 + Duration::from_secs(n);
    let mut c = core(vec![known(
        "hello-0-server",
        "t-hello",
        Some(TaskState::TaskRunning),
    )]);
    c.handle(Input::Subscribed(FrameworkId { value: FW.into() }), t0);
    c.handle(
        Input::Offers(vec![offer(
            "o1",
            "a1",
            vec![reserved("cpus", 0.1, "r1", FW)],
        )]),
        s(1),
    );
    // Task still running: no finish however long it is quiet.
    assert!(!c.handle(Input::Tick, s(10)).contains(&Action::Finish));
    c.handle(
        Input::Update(Box::new(status("t-hello", TaskState::TaskKilled, false))),
        s(10),
    );
    // Tasks gone, quiet passed, but a1 never offered again since the release.
    assert!(!c.handle(Input::Tick, s(11)).contains(&Action::Finish));
    // a2 offering clean does not clear a1.
    assert!(
        !c.handle(
            Input::Offers(vec![offer("o2", "a2", vec![unreserved("cpus", 1.0)])]),
            s(12)
        )
        .contains(&Action::Finish)
    );
    // The killed task's reservations come back: released, quiet restarts.
    c.handle(
        Input::Offers(vec![offer(
            "o3",
            "a1",
            vec![reserved("mem", 32.0, "r2", FW)],
        )]),
        s(13),
    );
    c.handle(
        Input::Offers(vec![offer("o4", "a1", vec![unreserved("mem", 32.0)])]),
        s(14),
    );
    assert!(
        !c.handle(Input::Tick, s(15)).contains(&Action::Finish),
        "quiet period since s(13) not over"
    );
    let done = c.handle(Input::Tick, s(16));
    assert!(done.contains(&Action::Finish));
    assert_eq!(c.stage(), Stage::Finished);
    // After finishing, offers are only declined, and Finish is said once.
    let after = c.handle(
        Input::Offers(vec![offer(
            "o5",
            "a1",
            vec![reserved("cpus", 0.1, "r9", FW)],
        )]),
        s(17),
    );
    assert_eq!(kinds(&after), [call::Type::Decline]);
    assert!(!c.handle(Input::Tick, s(30)).contains(&Action::Finish));
}

#[test]
fn nothing_happens_while_not_subscribed() {
    let t0 = Instant::now();
    let mut c = core(vec![known(
        "hello-0-server",
        "t-hello",
        Some(TaskState::TaskRunning),
    )]);
    let actions = c.handle(
        Input::Offers(vec![offer(
            "o1",
            "a1",
            vec![reserved("cpus", 0.1, "r1", FW)],
        )]),
        t0,
    );
    assert_eq!(kinds(&actions), [call::Type::Decline]);
    assert!(
        c.handle(Input::Tick, t0 + Duration::from_secs(60))
            .is_empty()
    );
    c.handle(Input::Subscribed(FrameworkId { value: FW.into() }), t0);
    c.handle(Input::Disconnected, t0);
    assert!(
        c.handle(Input::Tick, t0 + Duration::from_secs(60))
            .is_empty()
    );
}

#[test]
fn a_replacement_framework_releases_the_old_frameworks_reservations_too() {
    let t0 = Instant::now();
    let mut c = core(vec![]);
    c.handle(
        Input::Subscribed(FrameworkId {
            value: "fw-2".into(),
        }),
        t0,
    );
    let actions = c.handle(
        Input::Offers(vec![offer(
            "o1",
            "a1",
            vec![
                reserved("cpus", 0.1, "old", FW),
                reserved("cpus", 0.1, "new", "fw-2"),
            ],
        )]),
        t0,
    );
    let accept = calls(&actions)[0].accept.as_ref().unwrap();
    assert_eq!(
        accept.operations[0]
            .unreserve
            .as_ref()
            .unwrap()
            .resources
            .len(),
        2
    );
    assert_eq!(
        c.framework_ids().iter().cloned().collect::<Vec<_>>(),
        ["fw-1", "fw-2"]
    );
}

#[test]
fn gone_states() {
    assert!(
        is_gone(TaskState::TaskKilled)
            && is_gone(TaskState::TaskLost)
            && is_gone(TaskState::TaskUnknown)
    );
    assert!(
        !is_gone(TaskState::TaskRunning)
            && !is_gone(TaskState::TaskKilling)
            && !is_gone(TaskState::TaskUnreachable)
    );
}
