//! The evaluator: requirements × offers → recommendations and outcomes.

use std::collections::BTreeSet;

use plinth_proto::v1::offer::Operation;
use plinth_proto::v1::{AgentId, ExecutorInfo, Offer, OfferId, TaskInfo};

use super::attempt::Attempt;
use super::build;
use super::context::ServiceContext;
use super::ids::IdGenerator;
use super::labels;
use super::outcome::{OfferOutcome, Stage, StageOutcome};
use super::pool::{AgentPool, agent_pools};
use super::prepare::{PlacementCache, Prepared, prepare};
use super::requirement::{LaunchKind, PodInstanceRequirement};
use super::stages::{self, PlacedIndex};
use crate::placement::PlacedTask;

/// What to do with one agent's offers for one pod instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Recommendation {
    /// `<pod>-<index>`.
    pub pod_instance: String,
    /// How the pod instance was (re)launched.
    pub kind: LaunchKind,
    /// The agent.
    pub agent_id: AgentId,
    /// Its hostname.
    pub hostname: String,
    /// Every offer of that agent in this cycle: accept them together.
    pub offer_ids: Vec<OfferId>,
    /// UNRESERVE, RESERVE, CREATE, LAUNCH_GROUP, in the order to send them.
    pub operations: Vec<Operation>,
    /// TaskInfos to persist *before* the ACCEPT goes out (with `executor`
    /// set). Tasks that are only reserved for have an empty task id.
    pub task_infos: Vec<TaskInfo>,
    /// Full names of the tasks launched.
    pub launched: Vec<String>,
}

impl Recommendation {
    /// The pod instance's executor (as set on every TaskInfo to persist).
    pub fn executor(&self) -> Option<&ExecutorInfo> {
        self.task_infos.iter().find_map(|t| t.executor.as_deref())
    }

    /// Every `resource_id` the pod instance holds after this recommendation.
    pub fn resource_ids(&self) -> BTreeSet<String> {
        self.task_infos
            .iter()
            .flat_map(labels::resource_ids)
            .collect()
    }
}

/// The result of evaluating one requirement.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The winning agent's recommendation, if any agent fits.
    pub recommendation: Option<Recommendation>,
    /// One outcome per agent looked at, up to [`ITEMIZED_PER_STEP`]; then
    /// one counting the rest.
    pub outcomes: Vec<OfferOutcome>,
}

/// Evaluates requirements against the offers of one cycle.
///
/// Holds the placement view (stored tasks plus the pods recommended so far
/// in this cycle) and the id generator. Make one per offer cycle.
#[derive(Debug)]
pub struct OfferEvaluator<'c, G: IdGenerator> {
    ctx: &'c ServiceContext,
    ids: G,
    placed: PlacedIndex,
    placements: PlacementCache,
}

impl<'c, G: IdGenerator> OfferEvaluator<'c, G> {
    /// An evaluator for `ctx`; `all_tasks` are the stored TaskInfos of every
    /// pod (for placement counting), borrowed: only where each is placed is
    /// kept.
    pub fn new<'t>(
        ctx: &'c ServiceContext,
        all_tasks: impl IntoIterator<Item = &'t TaskInfo>,
        ids: G,
    ) -> Self {
        let mut placed = PlacedIndex::default();
        for t in all_tasks {
            if let Some(p) = labels::placed_task(t) {
                placed.add(t.name.clone(), p);
            }
        }
        Self {
            ctx,
            ids,
            placed,
            placements: PlacementCache::default(),
        }
    }

    /// The id generator (to hand it to the next cycle's evaluator).
    pub fn into_ids(self) -> G {
        self.ids
    }

    /// Evaluates one requirement against `offers`. A recommendation counts
    /// for the placement of later evaluations by this evaluator.
    pub fn evaluate(
        &mut self,
        requirement: &PodInstanceRequirement,
        offers: &[Offer],
    ) -> Evaluation {
        let pools = agent_pools(offers, self.ctx);
        let mut cycle = Cycle::new(pools.len());
        let mut outcomes = Vec::new();
        let recommendation = self.evaluate_on(requirement, &pools, &mut cycle, &mut outcomes);
        Evaluation {
            recommendation,
            outcomes,
        }
    }

    /// Evaluates every requirement, in order, against the offers of one
    /// cycle. Each agent serves at most one pod instance (one ACCEPT per
    /// agent); pods placed earlier in the cycle count for later placements.
    pub fn evaluate_all(
        &mut self,
        requirements: &[PodInstanceRequirement],
        offers: &[Offer],
    ) -> (Vec<Recommendation>, Vec<OfferOutcome>) {
        let pools = agent_pools(offers, self.ctx);
        let mut cycle = Cycle::new(pools.len());
        let mut outcomes = Vec::with_capacity(requirements.len());
        let mut recommendations = Vec::with_capacity(requirements.len().min(pools.len()));
        for req in requirements {
            if cycle.used.iter().all(|&u| u) {
                let why = if pools.is_empty() {
                    "no offers in this cycle"
                } else {
                    "every offered agent is already used in this cycle"
                };
                outcomes.push(requirement_failure(req, why.into()));
                continue;
            }
            if let Some(rec) = self.evaluate_on(req, &pools, &mut cycle, &mut outcomes) {
                recommendations.push(rec);
            }
        }
        (recommendations, outcomes)
    }

    fn evaluate_on<'r>(
        &mut self,
        req: &'r PodInstanceRequirement,
        pools: &[AgentPool],
        cycle: &mut Cycle<'r>,
        outcomes: &mut Vec<OfferOutcome>,
    ) -> Option<Recommendation> {
        let ctx = self.ctx;
        let prep = match prepare(ctx, req, &mut self.placements) {
            Ok(p) => p,
            Err(e) => {
                outcomes.push(requirement_failure(req, e.to_string()));
                return None;
            }
        };
        let fresh = prep.existing.is_none();
        let mut log = StepLog::default();
        for (i, pool) in pools.iter().enumerate() {
            if cycle.used[i] {
                continue;
            }
            if fresh && cycle.declined.contains(&(req.pod_type.as_str(), i)) {
                log.unlisted += 1;
                continue;
            }
            let mut attempt = stages::run(ctx, &prep, pool, &self.placed);
            if !attempt.passed() {
                if fresh && fails_for_any_instance(&attempt) {
                    cycle.declined.insert((req.pod_type.as_str(), i));
                }
                log.rejected(outcomes, || outcome(&prep, &mut attempt));
                continue;
            }
            let rec = match build::build(ctx, &prep, &attempt, &mut self.ids) {
                Ok(rec) => {
                    attempt.record(Stage::Launch, Ok(launch_message(&rec)));
                    outcomes.push(outcome(&prep, &mut attempt));
                    cycle.used[i] = true;
                    if fresh {
                        for t in &rec.task_infos {
                            let placed = PlacedTask::new(
                                prep.pod.name.clone(),
                                req.index,
                                pool.facts.clone(),
                            );
                            self.placed.add(t.name.clone(), placed);
                        }
                    }
                    Some(rec)
                }
                Err(e) => {
                    attempt.record(Stage::Launch, Err(e.to_string()));
                    outcomes.push(outcome(&prep, &mut attempt));
                    None
                }
            };
            log.finish(req, outcomes);
            return rec;
        }
        log.finish(req, outcomes);
        None
    }
}

/// At most this many agents' rejections are itemized per step and cycle…
pub const ITEMIZED_PER_STEP: usize = 10;
/// …and at most this many records per cycle; past either, a step gets one
/// record counting the agents left out. Ten thousand pending steps against a
/// thousand agents would otherwise make ten million records per cycle.
pub const ITEMIZED_PER_CYCLE: usize = 2_000;

/// What one offer cycle remembers across requirements.
struct Cycle<'r> {
    /// Agents already given a pod instance in this cycle.
    used: Vec<bool>,
    /// (pod type, agent) pairs where a new instance failed for a reason every
    /// new instance of that pod shares (resources, ports, volumes): the
    /// agent's offers do not change within a cycle, so the next new instance
    /// would fail there too.
    declined: BTreeSet<(&'r str, usize)>,
}

impl Cycle<'_> {
    fn new(agents: usize) -> Self {
        Cycle {
            used: vec![false; agents],
            declined: BTreeSet::new(),
        }
    }
}

/// Whether every failing stage judged something all new instances of the
/// pod share (not the instance's placement or executor).
fn fails_for_any_instance(attempt: &Attempt<'_>) -> bool {
    attempt.stages.iter().filter(|s| !s.passed).all(|s| {
        matches!(
            s.stage,
            Stage::PodVolumes
                | Stage::ExecutorResources
                | Stage::Ports
                | Stage::Resources
                | Stage::Volumes
        )
    })
}

/// The rejections of one step in one cycle: itemized up to the limits, then
/// counted.
#[derive(Default)]
struct StepLog {
    itemized: usize,
    unlisted: usize,
}

impl StepLog {
    fn rejected(
        &mut self,
        outcomes: &mut Vec<OfferOutcome>,
        record: impl FnOnce() -> OfferOutcome,
    ) {
        if self.itemized < ITEMIZED_PER_STEP && outcomes.len() < ITEMIZED_PER_CYCLE {
            outcomes.push(record());
            self.itemized += 1;
        } else {
            self.unlisted += 1;
        }
    }

    fn finish(self, req: &PodInstanceRequirement, outcomes: &mut Vec<OfferOutcome>) {
        if self.unlisted > 0 {
            outcomes.push(requirement_failure(
                req,
                format!(
                    "{} more agent(s) declined it in this cycle (not itemized: at most {ITEMIZED_PER_STEP} agents per step and {ITEMIZED_PER_CYCLE} records per cycle are)",
                    self.unlisted
                ),
            ));
        }
    }
}

/// One-shot [`OfferEvaluator::evaluate_all`].
pub fn evaluate_all<'t, G: IdGenerator>(
    ctx: &ServiceContext,
    all_tasks: impl IntoIterator<Item = &'t TaskInfo>,
    requirements: &[PodInstanceRequirement],
    offers: &[Offer],
    ids: G,
) -> (Vec<Recommendation>, Vec<OfferOutcome>) {
    OfferEvaluator::new(ctx, all_tasks, ids).evaluate_all(requirements, offers)
}

fn launch_message(rec: &Recommendation) -> String {
    let count = |t: i32| {
        rec.operations
            .iter()
            .filter(|o| o.r#type == Some(t))
            .count()
    };
    use plinth_proto::v1::offer::operation::Type;
    format!(
        "launching [{}]; {} task(s) stored; operations: {} reserve, {} create, {} unreserve, {} launch group",
        rec.launched.join(", "),
        rec.task_infos.len(),
        count(Type::Reserve as i32),
        count(Type::Create as i32),
        count(Type::Unreserve as i32),
        count(Type::LaunchGroup as i32),
    )
}

fn outcome(prep: &Prepared<'_, '_>, a: &mut Attempt<'_>) -> OfferOutcome {
    OfferOutcome {
        pod_instance: prep.pod_instance.clone(),
        agent_id: a.pool.agent_id.value.clone(),
        hostname: a.pool.hostname.clone(),
        offer_ids: a.pool.offer_id_strings(),
        passed: a.passed(),
        stages: std::mem::take(&mut a.stages),
    }
}

fn requirement_failure(req: &PodInstanceRequirement, message: String) -> OfferOutcome {
    OfferOutcome {
        pod_instance: req.pod_instance_name(),
        agent_id: String::new(),
        hostname: String::new(),
        offer_ids: Vec::new(),
        passed: false,
        stages: vec![StageOutcome {
            stage: Stage::Requirement,
            passed: false,
            message,
        }],
    }
}
