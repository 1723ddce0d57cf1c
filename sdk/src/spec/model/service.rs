//! The service as a whole.

use super::{PlanSpec, PodSpec};

/// A whole service: name, scheduler settings, pod types in order, YAML plans.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServiceSpec {
    /// Service name (`name:`), e.g. `hello-world` or `/path/to/svc`.
    pub name: String,
    /// `web-url:`.
    pub web_url: Option<String>,
    /// `scheduler:`.
    pub scheduler: SchedulerSpec,
    /// `pods:` in YAML order.
    pub pods: Vec<PodSpec>,
    /// `plans:` in YAML order (empty: a deploy plan is generated).
    pub plans: Vec<PlanSpec>,
}

/// `scheduler:` settings as written.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SchedulerSpec {
    /// `principal:`; empty or absent means `<name>-principal`.
    pub principal: Option<String>,
    /// `zookeeper:`; absent means `master.mesos:2181`.
    pub zookeeper: Option<String>,
    /// `user:`; absent means `root`. Also the user of every pod.
    pub user: Option<String>,
}

impl ServiceSpec {
    /// Effective Mesos principal.
    pub fn principal(&self) -> String {
        match self.scheduler.principal.as_deref() {
            Some(p) if !p.is_empty() => p.to_string(),
            _ => format!("{}-principal", self.name),
        }
    }

    /// Effective user for the framework and every task.
    pub fn user(&self) -> String {
        match self.scheduler.user.as_deref() {
            Some(u) if !u.is_empty() => u.to_string(),
            _ => "root".to_string(),
        }
    }

    /// Effective ZooKeeper connection string.
    pub fn zookeeper(&self) -> String {
        match self.scheduler.zookeeper.as_deref() {
            Some(z) if !z.is_empty() => z.to_string(),
            _ => "master.mesos:2181".to_string(),
        }
    }

    /// The Mesos role: `<name>-role` with leading `/` dropped and other `/` as `__`.
    pub fn role(&self) -> String {
        let trimmed = self.name.trim_start_matches('/');
        format!("{}-role", trimmed.replace('/', "__"))
    }

    /// The pod type with this name.
    pub fn pod(&self, name: &str) -> Option<&PodSpec> {
        self.pods.iter().find(|p| p.name == name)
    }

    /// Pre-reserved roles used by pods (other than `*`), in pod order, deduplicated.
    pub fn pre_reserved_roles(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for p in &self.pods {
            if let Some(r) = p.pre_reserved_role.as_deref()
                && r != "*"
                && !out.iter().any(|o| o == r)
            {
                out.push(r.to_string());
            }
        }
        out
    }
}
