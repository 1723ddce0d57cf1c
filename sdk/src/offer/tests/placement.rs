//! Placement: UNIQUE across the offers of one cycle and against stored tasks.

use super::fixtures::*;
use crate::offer::{OfferEvaluator, PodInstanceRequirement, SequentialIds, Stage, evaluate_all};

#[test]
fn unique_hostname_across_offers_of_one_cycle() {
    let ctx = ctx(HELLO);
    let offers = [
        offer("o1", "a1", "host-a", 4.0, 4096.0, 10_000.0),
        offer("o2", "a2", "host-a", 4.0, 4096.0, 10_000.0),
        offer("o3", "a3", "host-b", 4.0, 4096.0, 10_000.0),
    ];
    let (recs, outcomes) = evaluate_all(
        &ctx,
        &[],
        &[hello(0), hello(1)],
        &offers,
        SequentialIds::default(),
    );
    assert_eq!(placed(&recs), [("hello-0", "a1"), ("hello-1", "a3")]);
    let rejected: Vec<_> = outcomes.iter().filter(|o| !o.passed).collect();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].agent_id, "a2");
    assert_eq!(
        rejected[0].reason(),
        Some("placement: hostname UNIQUE violated by hello-0-server on host-a")
    );
    assert_eq!(
        rejected[0].summary(),
        "hello-1 on host-a: placement: hostname UNIQUE violated by hello-0-server on host-a"
    );
}

#[test]
fn stored_tasks_count_and_own_instance_does_not() {
    let ctx = ctx(HELLO);
    let first = offer("o1", "a1", "host-a", 4.0, 4096.0, 10_000.0);
    let (recs, _) = evaluate_all(&ctx, &[], &[hello(0)], &[first], SequentialIds::default());
    let stored = recs[0].task_infos.clone();

    let again = offer("o2", "a1", "host-a", 4.0, 4096.0, 10_000.0);
    let mut ev = OfferEvaluator::new(&ctx, &stored, SequentialIds::starting_at(100));
    let e = ev.evaluate(&hello(1), std::slice::from_ref(&again));
    assert!(e.recommendation.is_none());
    assert_eq!(e.outcomes[0].stages[1].stage, Stage::Placement);
    assert!(!e.outcomes[0].stages[1].passed);
    // A permanent replacement of hello-0 itself may go back to host-a.
    let e = ev.evaluate(
        &PodInstanceRequirement::permanent_replacement("hello", 0, ["server"]),
        std::slice::from_ref(&again),
    );
    assert!(e.recommendation.is_some(), "{:?}", e.outcomes);
}

#[test]
fn attribute_rules_explain_themselves() {
    let yaml = HELLO.replace(
        r#"'[["hostname", "UNIQUE"]]'"#,
        r#"'[["rack", "IS", "r2"]]'"#,
    );
    let ctx = ctx(&yaml);
    let o = with_attribute(
        offer("o1", "a1", "host-a", 4.0, 4096.0, 10_000.0),
        "rack",
        "r1",
    );
    let (recs, outcomes) = evaluate_all(&ctx, &[], &[hello(0)], &[o], SequentialIds::default());
    assert!(recs.is_empty());
    assert_eq!(
        reasons(&outcomes),
        ["placement: rack IS r2 not satisfied: attribute 'rack' 'r1' does not match"]
    );
    let o = with_attribute(
        offer("o2", "a2", "host-b", 4.0, 4096.0, 10_000.0),
        "rack",
        "r2",
    );
    let (recs, _) = evaluate_all(&ctx, &[], &[hello(0)], &[o], SequentialIds::default());
    let labels = &recs[0].task_infos[0];
    assert_eq!(
        crate::offer::labels::task_label(labels, crate::offer::labels::OFFER_ATTRIBUTES),
        Some("rack:r2")
    );
}

#[test]
fn invalid_placement_is_a_requirement_error() {
    let yaml = HELLO.replace(r#"'[["hostname", "UNIQUE"]]'"#, "'hostname:FOO'");
    // The loader may reject it first; the evaluator must not panic either way.
    let Ok(loaded) = crate::spec::load_str(&yaml, &Default::default(), None) else {
        return;
    };
    let ctx = crate::offer::ServiceContext::new(std::sync::Arc::new(loaded.spec), FRAMEWORK, "c");
    let o = offer("o1", "a1", "host-a", 4.0, 4096.0, 10_000.0);
    let (recs, outcomes) = evaluate_all(&ctx, &[], &[hello(0)], &[o], SequentialIds::default());
    assert!(recs.is_empty());
    assert!(reasons(&outcomes)[0].starts_with("placement of pod 'hello' is invalid"));
}
