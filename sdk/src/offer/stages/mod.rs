//! The evaluation stages, run in dcos-commons order against one agent.
//!
//! Each stage records a [`super::StageOutcome`] on the [`Attempt`] and, when
//! it passes, a grant saying how the requirement is met. Stages keep going
//! after a failure so the outcome explains every shortfall at once; only a
//! relaunch on the wrong agent stops early.

mod executor;
pub(crate) mod placement;
mod ports;
mod scalars;
mod volumes;

use super::attempt::{Attempt, SetGrant};
use super::context::ServiceContext;
use super::outcome::Stage;
use super::pool::AgentPool;
use super::prepare::Prepared;
pub(crate) use placement::PlacedIndex;

/// Runs every stage of `prep` against `pool`.
pub(crate) fn run<'p>(
    ctx: &ServiceContext,
    prep: &Prepared<'_, '_>,
    pool: &'p AgentPool,
    placed: &PlacedIndex,
) -> Attempt<'p> {
    let mut a = Attempt::new(pool, &prep.base);
    if let Some(existing) = &prep.existing {
        if pool.agent_id.value != existing.agent_id {
            let host = existing
                .hostname
                .map(|h| format!(" (they are on {h})"))
                .unwrap_or_default();
            a.record(
                Stage::Reservations,
                Err(format!(
                    "no reserved resources of pod {} on this agent{host}",
                    prep.pod_instance
                )),
            );
            return a;
        }
        a.record(
            Stage::Reservations,
            Ok(format!(
                "agent holds the reservations of pod {}",
                prep.pod_instance
            )),
        );
    }
    executor::choose(prep, &mut a);
    if let Some(constraint) = &prep.placement {
        placement::evaluate(prep, constraint, placed, &mut a);
    }
    volumes::pod_volumes(prep, &mut a);
    executor::resources(ctx, prep, &mut a);
    for plan in &prep.sets {
        // Any task of the pod using this set may hold its reservations.
        let stored = prep.existing.as_ref().and_then(|e| {
            let mut names = plan.task_names();
            for t in &prep.pod.tasks {
                if t.resources.id() == plan.set.id && !names.contains(&t.name.as_str()) {
                    names.push(t.name.as_str());
                }
            }
            e.set_items(&names)
        });
        let mut grant = SetGrant::default();
        ports::evaluate(prep, plan, stored.as_ref(), &mut a, &mut grant);
        scalars::evaluate(prep, plan, stored.as_ref(), &mut a, &mut grant);
        volumes::set_volumes(prep, plan, stored.as_ref(), &mut a, &mut grant);
        a.sets.push(grant);
    }
    a
}
