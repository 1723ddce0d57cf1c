//! ServiceSpec: the description of a service, loaded from a dcos-commons-compatible
//! `svc.yml` or built in Rust.
//!
//! This module owns:
//!
//! * the model ([`ServiceSpec`], [`PodSpec`], [`TaskSpec`], [`ResourceSetSpec`],
//!   [`VolumeSpec`], [`PortSpec`], plans) and its builders ([`builder`]);
//! * loading ([`load_str`], [`load_file`]): mustache rendering with the scheduler
//!   environment ([`crate::template`]), strict YAML (duplicate keys rejected,
//!   unknown keys rejected except directly under a pod, as in dcos-commons), and
//!   validation of everything dcos-commons checks when it builds a spec;
//! * plan resolution with dcos-commons step names ([`plans`]);
//! * the task environment ([`env`](mod@env)) and config-template rendering;
//! * a JSON report of a resolved spec ([`report`]) and YAML output ([`to_yaml`]).
//!
//! Every error is a [`Diagnostic`]: file, line and column as the author wrote them
//! (before mustache rendering), the key path, and what would fix it.
//!
//! # Guarantees
//! Loading never panics, whatever the input; all functions here are pure except
//! [`load_file`], which reads the spec and its config templates.
//!
//! # Example
//! ```
//! use std::collections::BTreeMap;
//! use plinth::spec::load_str;
//!
//! let yaml = "name: {{NAME}}\npods:\n  hello:\n    count: 2\n    tasks:\n      server:\n        goal: RUNNING\n        cmd: sleep 1000\n        cpus: 0.1\n        memory: 256\n";
//! let env = BTreeMap::from([("NAME".to_string(), "hello-world".to_string())]);
//! let loaded = load_str(yaml, &env, Some("svc.yml")).unwrap();
//! assert_eq!(loaded.spec.deploy_step_names(), ["hello-0:[server]", "hello-1:[server]"]);
//! ```

pub mod builder;
mod decode;
mod emit;
pub mod env;
pub mod envfile;
mod error;
mod features;
mod loader;
mod model;
pub mod plans;
pub mod report;
mod validate;
mod yaml;

pub use emit::to_yaml;
pub use error::{Diagnostic, LoadError, Location, SpecError};
pub use features::uses_features;
pub use loader::{LoadedSpec, load_file, load_str, validate_spec};
pub use model::*;
