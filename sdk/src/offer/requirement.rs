//! What a plan step asks the evaluator for: one pod instance, some of its
//! tasks, and whether this is a first placement or a relaunch.

use std::collections::BTreeMap;

use plinth_proto::v1::TaskInfo;

/// How a pod instance is being (re)launched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LaunchKind {
    /// First launch: placement is evaluated and every resource is reserved.
    #[default]
    NewPlacement,
    /// Transient recovery or a later step of a deployed pod: reuse the pod's
    /// reservations, volumes, executor and dynamic ports on the agent that
    /// holds them. With no stored reservations it behaves as
    /// [`LaunchKind::NewPlacement`].
    RelaunchInPlace,
    /// Permanent replacement: place afresh, ignoring the old reservations
    /// (the resource GC reclaims them once no task holds them).
    PermanentReplacement,
}

/// One pod instance to (re)launch.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PodInstanceRequirement {
    /// Pod type (the `pods:` key).
    pub pod_type: String,
    /// Instance index.
    pub index: u32,
    /// Short task names (`server`) to launch. On a new placement the other
    /// tasks of the pod are reserved for and stored, not launched.
    pub tasks_to_launch: Vec<String>,
    /// New placement, relaunch in place or permanent replacement.
    pub kind: LaunchKind,
    /// The stored TaskInfos of this pod instance (every task, launched or
    /// not): their reservations, volumes, executor and ports are reused on a
    /// relaunch in place.
    pub existing: Vec<TaskInfo>,
    /// Extra environment for the launched tasks (plan parameters), overriding
    /// the spec's.
    pub environment: BTreeMap<String, String>,
}

impl PodInstanceRequirement {
    /// A first placement of `pod_type`-`index` launching `tasks`.
    pub fn new_placement<I, S>(pod_type: impl Into<String>, index: u32, tasks: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            pod_type: pod_type.into(),
            index,
            tasks_to_launch: tasks.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    /// A relaunch in place of `tasks`, given the pod's stored TaskInfos.
    pub fn relaunch_in_place<I, S>(
        pod_type: impl Into<String>,
        index: u32,
        tasks: I,
        existing: Vec<TaskInfo>,
    ) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            kind: LaunchKind::RelaunchInPlace,
            existing,
            ..Self::new_placement(pod_type, index, tasks)
        }
    }

    /// A permanent replacement of the whole pod instance.
    pub fn permanent_replacement<I, S>(pod_type: impl Into<String>, index: u32, tasks: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            kind: LaunchKind::PermanentReplacement,
            ..Self::new_placement(pod_type, index, tasks)
        }
    }

    /// `<pod>-<index>`.
    pub fn pod_instance_name(&self) -> String {
        format!("{}-{}", self.pod_type, self.index)
    }
}
