//! Why an agent's offers were (not) used for a pod instance: one
//! [`OfferOutcome`] per requirement and agent looked at, served by the API as
//! `/v2/debug/offers`.

use serde::Serialize;

/// A stage of the evaluation pipeline, in pipeline order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// The requirement itself (unknown pod, bad placement string, …).
    Requirement,
    /// The agent holds (or does not hold) the pod's reservations.
    Reservations,
    /// Executor id: new, or the running one reused.
    Executor,
    /// Placement constraint.
    Placement,
    /// Pod-level (executor) volumes.
    PodVolumes,
    /// Executor overhead resources.
    ExecutorResources,
    /// Static and dynamic ports of a resource set.
    Ports,
    /// cpus, mem, gpus of a resource set.
    Resources,
    /// ROOT and MOUNT volumes of a resource set.
    Volumes,
    /// Operations and TaskInfos.
    Launch,
}

/// One stage's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StageOutcome {
    /// The stage.
    pub stage: Stage,
    /// Did it pass?
    pub passed: bool,
    /// What it found, e.g. `insufficient cpus: needed 1.1, offered 0.5`.
    pub message: String,
}

/// The evaluation of one pod instance against the offers of one agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OfferOutcome {
    /// `<pod>-<index>`.
    pub pod_instance: String,
    /// Agent id (empty when the requirement failed before any agent).
    pub agent_id: String,
    /// Agent hostname.
    pub hostname: String,
    /// Offer ids of that agent in this cycle.
    pub offer_ids: Vec<String>,
    /// True when the offers were used for this pod instance.
    pub passed: bool,
    /// Every stage's verdict, in pipeline order.
    pub stages: Vec<StageOutcome>,
}

impl OfferOutcome {
    /// The first failing stage's message, if any.
    pub fn reason(&self) -> Option<&str> {
        self.failures().next()
    }

    /// Every failing stage's message.
    pub fn failures(&self) -> impl Iterator<Item = &str> {
        self.stages
            .iter()
            .filter(|s| !s.passed)
            .map(|s| s.message.as_str())
    }

    /// A single line: `hello-0 on host-a: insufficient cpus: …; …`.
    pub fn summary(&self) -> String {
        let verdict = if self.passed {
            "accepted".to_string()
        } else {
            self.failures().collect::<Vec<_>>().join("; ")
        };
        if self.hostname.is_empty() {
            format!("{}: {verdict}", self.pod_instance)
        } else {
            format!("{} on {}: {verdict}", self.pod_instance, self.hostname)
        }
    }
}
