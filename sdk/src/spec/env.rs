//! The environment a task runs with, built as dcos-commons builds it, and config
//! templates rendered with it.
//!
//! Precedence, lowest first: the YAML `env:` map; env set in code for all pods
//! ([`TaskEnvRouter::set_all_pods_env`]) and for the pod type
//! ([`TaskEnvRouter::set_pod_env`]); scheduler `TASKCFG_ALL_<K>`; scheduler
//! `TASKCFG_<POD>_<K>` (`<POD>` is the pod type upper-cased with non-alphanumerics
//! as `_`); then the variables the SDK injects
//! (`FRAMEWORK_NAME`, `FRAMEWORK_HOST`, `FRAMEWORK_VIP_HOST`,
//! `SCHEDULER_API_HOSTNAME`, `SCHEDULER_API_PORT`, `POD_INSTANCE_INDEX`,
//! `TASK_NAME`, `<task-name>=true`, `PLACEMENT_REFERENCED_REGION`/`_ZONE`), port
//! `env-key`s and `CONFIG_TEMPLATE_<NAME>`.
//!
//! ```
//! use std::collections::BTreeMap;
//! use plinth::spec::env::{TaskEnvContext, TaskEnvRouter, task_environment};
//! use plinth::spec::load_str;
//!
//! let yaml = "name: svc\npods:\n  hello:\n    count: 1\n    tasks:\n      server:\n        goal: RUNNING\n        cmd: x\n        cpus: 1\n        memory: 64\n        env: {A: yaml}\n";
//! let spec = load_str(yaml, &BTreeMap::new(), None).unwrap().spec;
//! let sched = BTreeMap::from([("TASKCFG_HELLO_A".to_string(), "pod".to_string())]);
//! let router = TaskEnvRouter::from_scheduler_env(&sched);
//! let env = task_environment(&spec, "hello", 0, "server", &router, &TaskEnvContext::default(), &BTreeMap::new()).unwrap();
//! assert_eq!(env["A"], "pod");
//! assert_eq!(env["TASK_NAME"], "hello-0-server");
//! assert_eq!(env["FRAMEWORK_HOST"], "svc.autoip.dcos.thisdcos.directory");
//! ```

use std::collections::BTreeMap;

use super::model::ServiceSpec;
use crate::template::{Env, Template, TemplateError};

/// Cluster facts the injected variables depend on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskEnvContext {
    /// DNS suffix of task hostnames (`FRAMEWORK_HOST`).
    pub autoip_tld: String,
    /// DNS suffix of VIPs (`FRAMEWORK_VIP_HOST`).
    pub vip_tld: String,
    /// Name of the app launcher that runs the scheduler (part of its hostname).
    pub marathon_name: String,
    /// Port of the scheduler's HTTP API.
    pub scheduler_api_port: u16,
}

impl Default for TaskEnvContext {
    fn default() -> Self {
        Self {
            autoip_tld: "autoip.dcos.thisdcos.directory".into(),
            vip_tld: "l4lb.thisdcos.directory".into(),
            marathon_name: "marathon".into(),
            scheduler_api_port: 8080,
        }
    }
}

/// Routes env from the scheduler (and from Rust code) to pods.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskEnvRouter {
    all_pods: BTreeMap<String, String>,
    pods: BTreeMap<String, BTreeMap<String, String>>,
    scheduler_all: BTreeMap<String, String>,
    scheduler: BTreeMap<String, String>,
}

/// `hello-world` → `HELLO_WORLD`: upper case, anything not alphanumeric as `_`.
pub fn to_env_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

impl TaskEnvRouter {
    /// Picks up `TASKCFG_ALL_*` and `TASKCFG_<POD>_*` from the scheduler env.
    pub fn from_scheduler_env(env: &Env) -> Self {
        let mut r = Self::default();
        for (k, v) in env {
            if let Some(key) = k.strip_prefix("TASKCFG_ALL_") {
                if !key.is_empty() {
                    r.scheduler_all.insert(key.to_string(), v.clone());
                }
            } else if k.starts_with("TASKCFG_") {
                r.scheduler.insert(k.clone(), v.clone());
            }
        }
        r
    }

    /// Env for every pod (below scheduler `TASKCFG_*`).
    pub fn set_all_pods_env(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.all_pods.insert(key.into(), value.into());
    }

    /// Env for one pod type (below scheduler `TASKCFG_*`).
    pub fn set_pod_env(
        &mut self,
        pod: impl Into<String>,
        key: impl Into<String>,
        value: impl Into<String>,
    ) {
        self.pods
            .entry(pod.into())
            .or_default()
            .insert(key.into(), value.into());
    }

    /// The routed env for `pod_type`.
    pub fn config_for(&self, pod_type: &str) -> BTreeMap<String, String> {
        let mut out = self.all_pods.clone();
        if let Some(p) = self.pods.get(pod_type) {
            out.extend(p.clone());
        }
        out.extend(self.scheduler_all.clone());
        let prefix = format!("TASKCFG_{}_", to_env_name(pod_type));
        for (k, v) in &self.scheduler {
            if let Some(key) = k.strip_prefix(&prefix)
                && !key.is_empty()
            {
                out.insert(key.to_string(), v.clone());
            }
        }
        out
    }
}

/// `<pod>-<index>-<task>`.
pub fn task_name(pod: &str, index: u32, task: &str) -> String {
    format!("{pod}-{index}-{task}")
}

/// The service name as a DNS label: dots as dashes, slashes removed.
pub fn dns_service_name(service: &str) -> String {
    service.replace('.', "-").replace('/', "")
}

/// Why a task environment could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskEnvError {
    /// No such pod type.
    #[error("no pod type '{0}' in the spec")]
    UnknownPod(String),
    /// No such task in the pod.
    #[error("pod '{pod}' has no task '{task}'")]
    UnknownTask {
        /// Pod type.
        pod: String,
        /// Task.
        task: String,
    },
    /// No such config in the task.
    #[error("task '{task}' has no config '{config}'")]
    UnknownConfig {
        /// Task.
        task: String,
        /// Config name.
        config: String,
    },
    /// The config's template content has not been read.
    #[error("config '{0}' has no template content (load the spec with load_file)")]
    NoTemplateContent(String),
    /// The template failed to render.
    #[error("config '{config}': {source}")]
    Render {
        /// Config name.
        config: String,
        /// Why.
        #[source]
        source: TemplateError,
    },
}

/// The full environment of task `task` in instance `index` of pod `pod`.
/// `ports` gives the port numbers assigned to dynamic ports, by port name.
///
/// # Errors
/// Unknown pod or task.
pub fn task_environment(
    spec: &ServiceSpec,
    pod: &str,
    index: u32,
    task: &str,
    router: &TaskEnvRouter,
    ctx: &TaskEnvContext,
    ports: &BTreeMap<String, u16>,
) -> Result<BTreeMap<String, String>, TaskEnvError> {
    let p = spec
        .pod(pod)
        .ok_or_else(|| TaskEnvError::UnknownPod(pod.to_string()))?;
    let t = p.task(task).ok_or_else(|| TaskEnvError::UnknownTask {
        pod: pod.to_string(),
        task: task.to_string(),
    })?;
    let mut env: BTreeMap<String, String> =
        t.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    env.extend(router.config_for(pod));
    let dns = dns_service_name(&spec.name);
    let full_name = task_name(pod, index, task);
    let placement = p
        .placement
        .as_deref()
        .and_then(|s| crate::placement::parse(s).ok().flatten());
    let injected = [
        ("FRAMEWORK_NAME".to_string(), spec.name.clone()),
        (
            "FRAMEWORK_HOST".to_string(),
            format!("{dns}.{}", ctx.autoip_tld),
        ),
        (
            "FRAMEWORK_VIP_HOST".to_string(),
            format!("{dns}.{}", ctx.vip_tld),
        ),
        (
            "SCHEDULER_API_HOSTNAME".to_string(),
            format!("{dns}.{}.{}", ctx.marathon_name, ctx.autoip_tld),
        ),
        (
            "SCHEDULER_API_PORT".to_string(),
            ctx.scheduler_api_port.to_string(),
        ),
        ("POD_INSTANCE_INDEX".to_string(), index.to_string()),
        ("TASK_NAME".to_string(), full_name.clone()),
        (full_name, "true".to_string()),
        (
            "PLACEMENT_REFERENCED_REGION".to_string(),
            placement
                .as_ref()
                .is_some_and(|c| c.references_region())
                .to_string(),
        ),
        (
            "PLACEMENT_REFERENCED_ZONE".to_string(),
            placement
                .as_ref()
                .is_some_and(|c| c.references_zone())
                .to_string(),
        ),
    ];
    env.extend(injected);
    if let Some(rs) = p.task_resources(t) {
        for (name, port) in &rs.ports {
            if let Some(key) = &port.env_key {
                let value = ports.get(name).copied().unwrap_or(port.port);
                env.insert(key.clone(), value.to_string());
            }
        }
    }
    for (name, c) in &t.configs {
        env.insert(
            format!("CONFIG_TEMPLATE_{}", to_env_name(name)),
            format!("config-templates/{name},{}", c.dest),
        );
    }
    Ok(env)
}

/// Renders config `config` of a task with `env` (normally its
/// [`task_environment`] plus what Mesos adds), strictly: missing values fail.
///
/// # Errors
/// Unknown names, missing template content, or template errors.
pub fn render_config(
    spec: &ServiceSpec,
    pod: &str,
    task: &str,
    config: &str,
    env: &Env,
) -> Result<String, TaskEnvError> {
    let p = spec
        .pod(pod)
        .ok_or_else(|| TaskEnvError::UnknownPod(pod.to_string()))?;
    let t = p.task(task).ok_or_else(|| TaskEnvError::UnknownTask {
        pod: pod.to_string(),
        task: task.to_string(),
    })?;
    let c = t
        .configs
        .get(config)
        .ok_or_else(|| TaskEnvError::UnknownConfig {
            task: task.to_string(),
            config: config.to_string(),
        })?;
    let content = c
        .content
        .as_deref()
        .ok_or_else(|| TaskEnvError::NoTemplateContent(config.to_string()))?;
    let render = |content: &str| -> Result<String, TemplateError> {
        Ok(Template::parse(content)?.render_strict(env)?.text)
    };
    render(content).map_err(|source| TaskEnvError::Render {
        config: config.to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_taskcfg_by_pod() {
        let env: Env = [
            ("TASKCFG_ALL_A", "all"),
            ("TASKCFG_ALL_B", "all"),
            ("TASKCFG_CUSTOM_POD_A_B", "pod"),
            ("TASKCFG_OTHER_B", "other"),
            ("UNRELATED", "x"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let mut r = TaskEnvRouter::from_scheduler_env(&env);
        r.set_all_pods_env("C", "code");
        r.set_pod_env("custom-pod-A", "A", "code-pod");
        let c = r.config_for("custom-pod-A");
        assert_eq!(
            c["A"], "all",
            "scheduler TASKCFG_ALL beats Java-side pod env"
        );
        assert_eq!(c["B"], "pod");
        assert_eq!(c["C"], "code");
        assert!(!c.contains_key("UNRELATED"));
        assert_eq!(dns_service_name("/path/to/my.svc"), "pathtomy-svc");
    }

    #[test]
    fn config_templates_render_with_the_task_env() {
        let yaml = "name: svc\npods:\n  hello:\n    count: 2\n    placement: '@zone:GROUP_BY'\n    tasks:\n      server:\n        goal: RUNNING\n        cmd: x\n        cpus: 1\n        memory: 64\n        ports: {http: {port: 0, env-key: PORT_HTTP}}\n        configs:\n          conf: {template: conf.mustache, dest: etc/conf}\n";
        let mut spec = crate::spec::load_str(yaml, &Env::new(), None).unwrap().spec;
        spec.pods[0].tasks[0].configs[0].content = Some(
            "id={{TASK_NAME}} port={{PORT_HTTP}} zone={{PLACEMENT_REFERENCED_ZONE}}{{#hello-1-server}} second{{/hello-1-server}}\n".into(),
        );
        let ports = BTreeMap::from([("http".to_string(), 31000)]);
        let env = task_environment(
            &spec,
            "hello",
            1,
            "server",
            &TaskEnvRouter::default(),
            &TaskEnvContext::default(),
            &ports,
        )
        .unwrap();
        assert_eq!(
            env["CONFIG_TEMPLATE_CONF"],
            "config-templates/conf,etc/conf"
        );
        let text = render_config(&spec, "hello", "server", "conf", &env).unwrap();
        assert_eq!(text, "id=hello-1-server port=31000 zone=true second\n");
        let err = render_config(&spec, "hello", "server", "conf", &Env::new()).unwrap_err();
        assert!(
            err.to_string()
                .contains("missing value for '{{TASK_NAME}}'"),
            "{err}"
        );
    }
}
