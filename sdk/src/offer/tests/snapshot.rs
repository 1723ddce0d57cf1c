//! The operations for a small hello-world pod, as Mesos JSON.

use super::fixtures::*;
use crate::offer::{PodInstanceRequirement, SequentialIds, evaluate_all};

#[test]
fn hello_world_operations() {
    let ctx = ctx(HELLO);
    let o = offer("o1", "agent-1", "host-a", 4.0, 4096.0, 10_000.0);
    let req = PodInstanceRequirement::new_placement("hello", 0, ["server"]);
    let (recs, _) = evaluate_all(&ctx, &[], &[req], &[o], SequentialIds::default());
    let ops: Vec<serde_json::Value> = recs[0]
        .operations
        .iter()
        .map(plinth_proto::json::to_value)
        .collect();
    insta::assert_json_snapshot!(ops);
}
