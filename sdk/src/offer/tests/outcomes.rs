//! Outcome records stay bounded when many steps meet many agents that do
//! not fit, and a too-small agent is not tried again within a cycle.

use super::fixtures::*;
use crate::offer::{ITEMIZED_PER_STEP, PodInstanceRequirement, SequentialIds, Stage, evaluate_all};
use plinth_proto::v1::Offer;

fn small(n: usize) -> Offer {
    offer(
        &format!("s{n}"),
        &format!("small-{n}"),
        &format!("small-host-{n}"),
        0.5,
        4096.0,
        10_000.0,
    )
}

#[test]
fn rejections_past_the_step_limit_are_counted_not_itemized() {
    let ctx = ctx(HELLO);
    let offers: Vec<Offer> = (0..25).map(small).collect();
    let (recs, outcomes) = evaluate_all(&ctx, &[], &[hello(0)], &offers, SequentialIds::default());
    assert!(recs.is_empty());
    assert_eq!(outcomes.len(), ITEMIZED_PER_STEP + 1);
    let itemized: Vec<&str> = outcomes[..ITEMIZED_PER_STEP]
        .iter()
        .map(|o| o.agent_id.as_str())
        .collect();
    let first: Vec<String> = (0..ITEMIZED_PER_STEP)
        .map(|n| format!("small-{n}"))
        .collect();
    assert_eq!(itemized, first);
    let summary = outcomes.last().expect("a summary");
    assert_eq!(summary.pod_instance, "hello-0");
    assert_eq!(summary.stages[0].stage, Stage::Requirement);
    assert!(!summary.passed);
    assert!(
        summary.stages[0].message.starts_with(&format!(
            "{} more agent(s) declined it",
            25 - ITEMIZED_PER_STEP
        )),
        "{}",
        summary.stages[0].message
    );
}

#[test]
fn an_agent_too_small_for_a_new_instance_is_skipped_for_the_next_one() {
    let ctx = ctx(HELLO);
    let offers = [small(0), small(1), big_offer(2), big_offer(3)];
    let (recs, outcomes) = evaluate_all(
        &ctx,
        &[],
        &[hello(0), hello(1)],
        &offers,
        SequentialIds::default(),
    );
    assert_eq!(placed(&recs), [("hello-0", "a2"), ("hello-1", "a3")]);
    // hello-0 itemizes both small agents; hello-1 only counts them.
    let of = |pod: &str| -> Vec<(String, bool)> {
        outcomes
            .iter()
            .filter(|o| o.pod_instance == pod)
            .map(|o| (o.agent_id.clone(), o.passed))
            .collect()
    };
    assert_eq!(
        of("hello-0"),
        [
            ("small-0".into(), false),
            ("small-1".into(), false),
            ("a2".into(), true)
        ]
    );
    assert_eq!(of("hello-1"), [("a3".into(), true), (String::new(), false)]);
    let summary = outcomes.last().expect("hello-1's summary");
    assert!(
        summary.stages[0]
            .message
            .starts_with("2 more agent(s) declined it")
    );
}

#[test]
fn a_placement_rejection_is_tried_again_for_the_next_instance() {
    let ctx = ctx(HELLO);
    // hello-1 is stored on host-a: hello-0 may not go there, hello-1 may.
    let (first, _) = evaluate_all(
        &ctx,
        &[],
        &[hello(1)],
        &[offer("o0", "a1", "host-a", 4.0, 4096.0, 10_000.0)],
        SequentialIds::default(),
    );
    let stored = first[0].task_infos.clone();
    let again = offer("o1", "a1", "host-a", 4.0, 4096.0, 10_000.0);
    let (recs, outcomes) = evaluate_all(
        &ctx,
        &stored,
        &[
            hello(0),
            PodInstanceRequirement::permanent_replacement("hello", 1, ["server"]),
        ],
        &[again],
        SequentialIds::starting_at(100),
    );
    assert_eq!(outcomes[0].pod_instance, "hello-0");
    assert_eq!(
        outcomes[0].reason(),
        Some("placement: hostname UNIQUE violated by hello-1-server on host-a")
    );
    let placed: Vec<&str> = recs.iter().map(|r| r.pod_instance.as_str()).collect();
    assert_eq!(placed, ["hello-1"]);
}
