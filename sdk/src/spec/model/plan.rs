//! Plans as written under `plans:`.

/// Strategy of a plan (across its phases).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanStrategy {
    /// One phase at a time.
    Serial,
    /// All phases at once.
    Parallel,
}

impl PlanStrategy {
    /// `serial` / `parallel`.
    pub fn as_str(self) -> &'static str {
        match self {
            PlanStrategy::Serial => "serial",
            PlanStrategy::Parallel => "parallel",
        }
    }
}

/// Strategy of a phase (across its steps).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhaseStrategy {
    /// One step at a time.
    Serial,
    /// All steps at once.
    Parallel,
    /// First step, wait for `continue`, then the rest serially (`canary` is an alias).
    SerialCanary,
    /// First step, wait for `continue`, then the rest in parallel.
    ParallelCanary,
}

impl PhaseStrategy {
    /// The YAML spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PhaseStrategy::Serial => "serial",
            PhaseStrategy::Parallel => "parallel",
            PhaseStrategy::SerialCanary => "serial-canary",
            PhaseStrategy::ParallelCanary => "parallel-canary",
        }
    }

    /// True for the parallel flavours.
    pub fn is_parallel(self) -> bool {
        matches!(
            self,
            PhaseStrategy::Parallel | PhaseStrategy::ParallelCanary
        )
    }
}

/// One plan.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanSpec {
    /// Plan name (`deploy`, `update` or custom).
    pub name: String,
    /// Strategy as written (None: serial).
    pub strategy: Option<PlanStrategy>,
    /// Phases in order.
    pub phases: Vec<PhaseSpec>,
}

/// One phase: steps over the instances of one pod type.
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseSpec {
    /// Phase name.
    pub name: String,
    /// Strategy as written (None: serial).
    pub strategy: Option<PhaseStrategy>,
    /// Pod type.
    pub pod: String,
    /// Custom steps; None launches all tasks of each instance in one step.
    pub steps: Option<Vec<StepRule>>,
}

/// How a phase's steps were produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepGeneration {
    /// One step per instance with all tasks.
    Default,
    /// Custom steps, serial.
    CustomSerial,
    /// Custom steps in a parallel phase (serial within an instance).
    CustomParallel,
}

impl StepGeneration {
    /// `default` / `custom-serial` / `custom-parallel`.
    pub fn as_str(self) -> &'static str {
        match self {
            StepGeneration::Default => "default",
            StepGeneration::CustomSerial => "custom-serial",
            StepGeneration::CustomParallel => "custom-parallel",
        }
    }
}

/// Which instances a step rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepSelector {
    /// `<index>:`.
    Index(u32),
    /// `default:`.
    Default,
}

/// `- <index>|default: [[task, …], …]`.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRule {
    /// Instances it applies to.
    pub selector: StepSelector,
    /// One step per group; each group's tasks launch together.
    pub task_groups: Vec<Vec<String>>,
}
