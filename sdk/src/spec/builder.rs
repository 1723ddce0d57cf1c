//! Builders for writing a ServiceSpec in Rust instead of YAML.
//!
//! ```
//! use plinth::spec::{GoalState, PodSpec, PortSpec, ServiceSpec, TaskSpec, VolumeSpec};
//!
//! let spec = ServiceSpec::builder("hello-world")
//!     .user("nobody")
//!     .pod(
//!         PodSpec::builder("hello")
//!             .count(2)
//!             .placement(r#"[["hostname", "UNIQUE"]]"#)
//!             .task(
//!                 TaskSpec::builder("server")
//!                     .goal(GoalState::Running)
//!                     .cmd("sleep 1000")
//!                     .cpus(0.1)
//!                     .memory(256)
//!                     .port(PortSpec::new("http", 0).env_key("PORT_HTTP"))
//!                     .volume(VolumeSpec::root("data", 64))
//!                     .build(),
//!             )
//!             .build(),
//!     )
//!     .build()
//!     .unwrap();
//! assert_eq!(spec.deploy_step_names(), ["hello-0:[server]", "hello-1:[server]"]);
//! ```

use std::time::Duration;

use super::error::LoadError;
use super::loader::validate_spec;
use super::model::{
    ConfigSpec, DiscoverySpec, GoalState, HealthCheckSpec, PhaseSpec, PhaseStrategy, PlanSpec,
    PlanStrategy, PodSpec, PortRange, PortSpec, ReadinessCheckSpec, ResourceSetSpec, ServiceSpec,
    StepRule, TaskResources, TaskSpec, VipSpec, VolumeSpec, VolumeType,
};

/// Builds a [`ServiceSpec`]; [`ServiceSpecBuilder::build`] validates it.
#[derive(Debug, Clone)]
pub struct ServiceSpecBuilder(ServiceSpec);

impl ServiceSpec {
    /// Starts a spec named `name`.
    pub fn builder(name: impl Into<String>) -> ServiceSpecBuilder {
        ServiceSpecBuilder(ServiceSpec {
            name: name.into(),
            ..ServiceSpec::default()
        })
    }
}

impl ServiceSpecBuilder {
    /// `web-url`.
    pub fn web_url(mut self, url: impl Into<String>) -> Self {
        self.0.web_url = Some(url.into());
        self
    }
    /// `scheduler.principal`.
    pub fn principal(mut self, p: impl Into<String>) -> Self {
        self.0.scheduler.principal = Some(p.into());
        self
    }
    /// `scheduler.user`.
    pub fn user(mut self, u: impl Into<String>) -> Self {
        self.0.scheduler.user = Some(u.into());
        self
    }
    /// `scheduler.zookeeper`.
    pub fn zookeeper(mut self, z: impl Into<String>) -> Self {
        self.0.scheduler.zookeeper = Some(z.into());
        self
    }
    /// Adds a pod type.
    pub fn pod(mut self, pod: PodSpec) -> Self {
        self.0.pods.push(pod);
        self
    }
    /// Adds a plan.
    pub fn plan(mut self, plan: PlanSpec) -> Self {
        self.0.plans.push(plan);
        self
    }
    /// Validates and returns the spec.
    ///
    /// # Errors
    /// Every validation problem, located by key path.
    pub fn build(self) -> Result<ServiceSpec, LoadError> {
        validate_spec(&self.0)?;
        Ok(self.0)
    }
}

/// Builds a [`PodSpec`].
#[derive(Debug, Clone)]
pub struct PodSpecBuilder(PodSpec);

impl PodSpec {
    /// Starts a pod type.
    pub fn builder(name: impl Into<String>) -> PodSpecBuilder {
        PodSpecBuilder(PodSpec {
            name: name.into(),
            ..PodSpec::default()
        })
    }
}

impl PodSpecBuilder {
    /// Instances.
    pub fn count(mut self, n: u32) -> Self {
        self.0.count = n;
        self
    }
    /// Marathon-style placement constraint.
    pub fn placement(mut self, p: impl Into<String>) -> Self {
        self.0.placement = Some(p.into());
        self
    }
    /// Docker image.
    pub fn image(mut self, i: impl Into<String>) -> Self {
        self.0.image = Some(i.into());
        self
    }
    /// Adds a URI.
    pub fn uri(mut self, u: impl Into<String>) -> Self {
        self.0.uris.push(u.into());
        self
    }
    /// Adds a pod-level volume.
    pub fn volume(mut self, v: VolumeSpec) -> Self {
        self.0.volumes.push(v);
        self
    }
    /// Allows decommissioning.
    pub fn allow_decommission(mut self, yes: bool) -> Self {
        self.0.allow_decommission = yes;
        self
    }
    /// Pre-reserved role.
    pub fn pre_reserved_role(mut self, r: impl Into<String>) -> Self {
        self.0.pre_reserved_role = Some(r.into());
        self
    }
    /// Adds a shared resource set.
    pub fn resource_set(mut self, rs: ResourceSetSpec) -> Self {
        self.0.resource_sets.push(rs);
        self
    }
    /// Adds a task.
    pub fn task(mut self, t: TaskSpec) -> Self {
        self.0.tasks.push(t);
        self
    }
    /// The pod (validated with the service).
    pub fn build(self) -> PodSpec {
        self.0
    }
}

/// Builds a [`TaskSpec`].
#[derive(Debug, Clone)]
pub struct TaskSpecBuilder(TaskSpec);

impl TaskSpec {
    /// Starts a task (goal RUNNING, essential).
    pub fn builder(name: impl Into<String>) -> TaskSpecBuilder {
        let name = name.into();
        TaskSpecBuilder(TaskSpec {
            resources: TaskResources::Own(ResourceSetSpec::new(format!("{name}-resource-set"))),
            name,
            essential: true,
            ..TaskSpec::default()
        })
    }
}

impl TaskSpecBuilder {
    fn own(&mut self) -> &mut ResourceSetSpec {
        if let TaskResources::Shared(_) = self.0.resources {
            self.0.resources = TaskResources::Own(ResourceSetSpec::new(format!(
                "{}-resource-set",
                self.0.name
            )));
        }
        match &mut self.0.resources {
            TaskResources::Own(rs) => rs,
            TaskResources::Shared(_) => unreachable!("replaced above"),
        }
    }
    /// Goal state.
    pub fn goal(mut self, g: GoalState) -> Self {
        self.0.goal = g;
        self
    }
    /// Essential or not.
    pub fn essential(mut self, e: bool) -> Self {
        self.0.essential = e;
        self
    }
    /// Command.
    pub fn cmd(mut self, c: impl Into<String>) -> Self {
        self.0.cmd = Some(c.into());
        self
    }
    /// Adds an env variable.
    pub fn env(mut self, k: impl Into<String>, v: impl Into<String>) -> Self {
        self.0.env.insert(k.into(), v.into());
        self
    }
    /// Adds a label.
    pub fn label(mut self, k: impl Into<String>, v: impl Into<String>) -> Self {
        self.0.labels.insert(k.into(), v.into());
        self
    }
    /// Adds a config template.
    pub fn config(
        mut self,
        name: impl Into<String>,
        template: impl Into<String>,
        dest: impl Into<String>,
    ) -> Self {
        self.0.configs.insert(
            name.into(),
            ConfigSpec {
                template: template.into(),
                dest: dest.into(),
                content: None,
            },
        );
        self
    }
    /// CPUs.
    pub fn cpus(mut self, c: f64) -> Self {
        self.own().cpus = Some(c);
        self
    }
    /// GPUs.
    pub fn gpus(mut self, g: f64) -> Self {
        self.own().gpus = Some(g);
        self
    }
    /// Memory (MB).
    pub fn memory(mut self, m: u64) -> Self {
        self.own().memory = Some(m);
        self
    }
    /// Adds a port.
    pub fn port(mut self, p: PortSpec) -> Self {
        self.own().ports.insert(p.name.clone(), p);
        self
    }
    /// Adds a volume.
    pub fn volume(mut self, v: VolumeSpec) -> Self {
        self.own().volumes.push(v);
        self
    }
    /// Uses a shared resource set instead of own resources.
    pub fn resource_set(mut self, id: impl Into<String>) -> Self {
        self.0.resources = TaskResources::Shared(id.into());
        self
    }
    /// Health check.
    pub fn health_check(mut self, h: HealthCheckSpec) -> Self {
        self.0.health_check = Some(h);
        self
    }
    /// Readiness check.
    pub fn readiness_check(mut self, r: ReadinessCheckSpec) -> Self {
        self.0.readiness_check = Some(r);
        self
    }
    /// Discovery.
    pub fn discovery(mut self, d: DiscoverySpec) -> Self {
        self.0.discovery = Some(d);
        self
    }
    /// Kill grace period.
    pub fn kill_grace_period(mut self, d: Duration) -> Self {
        self.0.kill_grace_period = Some(d);
        self
    }
    /// The task.
    pub fn build(self) -> TaskSpec {
        self.0
    }
}

impl ResourceSetSpec {
    /// Sets cpus.
    pub fn with_cpus(mut self, c: f64) -> Self {
        self.cpus = Some(c);
        self
    }
    /// Sets memory (MB).
    pub fn with_memory(mut self, m: u64) -> Self {
        self.memory = Some(m);
        self
    }
    /// Adds a port.
    pub fn with_port(mut self, p: PortSpec) -> Self {
        self.ports.insert(p.name.clone(), p);
        self
    }
    /// Adds a volume.
    pub fn with_volume(mut self, v: VolumeSpec) -> Self {
        self.volumes.push(v);
        self
    }
}

impl PortSpec {
    /// A port named `name`; 0 asks for any free port.
    pub fn new(name: impl Into<String>, port: u16) -> Self {
        Self {
            name: name.into(),
            port,
            ..Self::default()
        }
    }
    /// Env variable receiving the port.
    pub fn env_key(mut self, k: impl Into<String>) -> Self {
        self.env_key = Some(k.into());
        self
    }
    /// Advertise the port.
    pub fn advertise(mut self, a: bool) -> Self {
        self.advertise = a;
        self
    }
    /// A named VIP.
    pub fn vip(mut self, port: u16, prefix: Option<String>) -> Self {
        self.vip = Some(VipSpec {
            port,
            prefix,
            protocol: None,
        });
        self
    }
    /// Adds a range for a dynamic port.
    pub fn range(mut self, begin: u16, end: u16) -> Self {
        self.ranges.push(PortRange {
            begin: Some(begin),
            end: Some(end),
        });
        self
    }
}

impl VolumeSpec {
    /// A ROOT volume of `size_mb` at `path`.
    pub fn root(path: impl Into<String>, size_mb: u64) -> Self {
        Self {
            name: None,
            path: path.into(),
            kind: VolumeType::Root,
            size_mb,
            profiles: Vec::new(),
        }
    }
    /// A MOUNT volume of `size_mb` at `path`.
    pub fn mount(path: impl Into<String>, size_mb: u64) -> Self {
        Self {
            kind: VolumeType::Mount,
            ..Self::root(path, size_mb)
        }
    }
    /// Names the volume (its key under `volumes:`).
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
}

impl PlanSpec {
    /// An empty plan.
    pub fn new(name: impl Into<String>, strategy: Option<PlanStrategy>) -> Self {
        Self {
            name: name.into(),
            strategy,
            phases: Vec::new(),
        }
    }
    /// Adds a phase.
    pub fn with_phase(mut self, p: PhaseSpec) -> Self {
        self.phases.push(p);
        self
    }
}

impl PhaseSpec {
    /// A phase over `pod` with default steps.
    pub fn new(
        name: impl Into<String>,
        pod: impl Into<String>,
        strategy: Option<PhaseStrategy>,
    ) -> Self {
        Self {
            name: name.into(),
            strategy,
            pod: pod.into(),
            steps: None,
        }
    }
    /// Custom steps.
    pub fn with_steps(mut self, rules: Vec<StepRule>) -> Self {
        self.steps = Some(rules);
        self
    }
}
