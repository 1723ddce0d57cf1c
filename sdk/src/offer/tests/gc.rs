//! Resource GC of orphaned reservations and volumes.

use std::collections::BTreeSet;

use plinth_proto::v1::offer::operation::Type;

use super::fixtures::*;
use super::mesos_model::AgentModel;
use crate::offer::gc::{cleanup, unexpected_resources};
use crate::offer::labels;
use crate::offer::resources::{dynamic_reservation, resource_id};
use crate::offer::{PodInstanceRequirement, SequentialIds, evaluate_all};

#[test]
fn orphans_are_destroyed_then_unreserved() {
    let ctx = ctx(HELLO);
    let o = offer("o1", "a1", "host-a", 4.0, 4096.0, 10_000.0);
    let req = PodInstanceRequirement::new_placement("hello", 0, ["server"]);
    let (recs, _) = evaluate_all(
        &ctx,
        &[],
        &[req],
        std::slice::from_ref(&o),
        SequentialIds::default(),
    );
    let mut again = reoffer(&o, &recs[0], "o2");
    let mut foreign = scalar("cpus", 1.0);
    foreign.reservations = vec![dynamic_reservation(ROLE, "p", "theirs", "other-framework")];
    again.resources.push(foreign);

    // Held by the stored task: nothing to do.
    let held: BTreeSet<String> = recs[0]
        .task_infos
        .iter()
        .flat_map(labels::resource_ids)
        .collect();
    assert_eq!(held, recs[0].resource_ids());
    assert!(cleanup(std::slice::from_ref(&again), FRAMEWORK, &held).is_empty());

    // Nothing held: everything of ours goes, the other framework's stays.
    let none = BTreeSet::new();
    let orphans = unexpected_resources(&again, FRAMEWORK, &none);
    assert_eq!(orphans.len(), 7);
    let plans = cleanup(std::slice::from_ref(&again), FRAMEWORK, &none);
    assert_eq!(plans.len(), 1);
    let plan = &plans[0];
    assert_eq!(plan.agent_id.value, "a1");
    assert_eq!(plan.resource_ids.len(), 7);
    assert!(!plan.resource_ids.contains(&"theirs".to_string()));
    let types: Vec<i32> = plan.operations.iter().map(|o| o.r#type.unwrap()).collect();
    assert_eq!(types, [Type::Destroy as i32, Type::Unreserve as i32]);
    let mut model = AgentModel::new(&again.resources);
    model
        .apply_all(&plan.operations)
        .expect("master accepts the cleanup");
    assert!(
        model
            .resources
            .iter()
            .all(|r| resource_id(r).is_none_or(|id| id == "theirs"))
    );
}
