//! Pod-level settings: placement, rlimits, networks, secrets, volumes, isolation.

use std::collections::BTreeMap;

use super::{Validator, is_env_name, pod_path, task_path};
use crate::spec::error::SpecError;
use crate::spec::model::{IpcMode, ServiceSpec, VolumeSpec, VolumeType};

const RLIMITS: &[&str] = &[
    "RLIMIT_AS",
    "RLIMIT_CORE",
    "RLIMIT_CPU",
    "RLIMIT_DATA",
    "RLIMIT_FSIZE",
    "RLIMIT_LOCKS",
    "RLIMIT_MEMLOCK",
    "RLIMIT_MSGQUEUE",
    "RLIMIT_NICE",
    "RLIMIT_NOFILE",
    "RLIMIT_NPROC",
    "RLIMIT_RSS",
    "RLIMIT_RTPRIO",
    "RLIMIT_RTTIME",
    "RLIMIT_SIGPENDING",
    "RLIMIT_STACK",
];

pub(super) fn check(spec: &ServiceSpec, v: &mut Validator<'_>) {
    let mut prefixes: BTreeMap<String, String> = BTreeMap::new();
    for pod in &spec.pods {
        let pp = pod_path(&pod.name);
        if let Some(p) = &pod.placement
            && let Err(e) = crate::placement::parse(p)
        {
            v.error(&format!("{pp}.placement"), SpecError::Placement(e));
        }
        for (name, rl) in &pod.rlimits {
            let path = format!("{pp}.rlimits.{name}");
            if !RLIMITS.contains(&name.as_str()) {
                v.invalid(
                    &path,
                    name,
                    format!("unknown rlimit; use one of {}", RLIMITS.join(", ")),
                );
            }
            match (rl.soft, rl.hard) {
                (Some(_), None) | (None, Some(_)) => v.error(
                    &path,
                    SpecError::MissingKey {
                        key: if rl.soft.is_some() { "hard" } else { "soft" }.into(),
                        hint: ": set both soft and hard (-1 is unlimited), or neither".into(),
                    },
                ),
                (Some(s), Some(h)) if h != -1 && (s == -1 || s > h) => v.invalid(
                    &format!("{path}.soft"),
                    &s.to_string(),
                    format!("the soft limit cannot exceed the hard limit ({h})"),
                ),
                _ => {}
            }
        }
        for (name, net) in &pod.networks {
            let path = format!("{pp}.networks.{name}");
            if net.host_ports.len() != net.container_ports.len() {
                v.error(
                    &path,
                    SpecError::Conflict {
                        first: "host-ports".into(),
                        second: "container-ports".into(),
                        reason: format!(
                            "they map port to port and must have the same length ({} vs {})",
                            net.host_ports.len(),
                            net.container_ports.len()
                        ),
                    },
                );
            }
            if name == "dcos" && !net.host_ports.is_empty() {
                v.invalid(
                    &format!("{path}.host-ports"),
                    name,
                    "the 'dcos' overlay network does not support port mapping: remove host-ports/container-ports",
                );
            }
        }
        for (name, s) in &pod.secrets {
            let path = format!("{pp}.secrets.{name}");
            if s.secret.trim().is_empty() {
                v.invalid(
                    &format!("{path}.secret"),
                    &s.secret,
                    "the secret path must not be empty",
                );
            }
            if let Some(k) = &s.env_key
                && !is_env_name(k)
            {
                v.invalid(
                    &format!("{path}.env-key"),
                    k,
                    "not a valid environment variable name",
                );
            }
        }
        for (name, h) in &pod.host_volumes {
            let path = format!("{pp}.host-volumes.{name}");
            if !h.host_path.is_empty() && !h.host_path.starts_with('/') {
                v.invalid(
                    &format!("{path}.host-path"),
                    &h.host_path,
                    "host paths must be absolute",
                );
            }
        }
        if pod.seccomp_unconfined == Some(true) && pod.seccomp_profile_name.is_some() {
            v.error(
                &format!("{pp}.seccomp-profile-name"),
                SpecError::Conflict {
                    first: "seccomp-unconfined".into(),
                    second: "seccomp-profile-name".into(),
                    reason: "an unconfined pod has no seccomp profile: keep one".into(),
                },
            );
        }
        if pod.ipc_mode == Some(IpcMode::ShareParent) && pod.shm_size.is_some() {
            shm_ignored(v, &pp);
        }
        for (i, vol) in pod.volumes.iter().enumerate() {
            check_volume(v, vol, &volume_path(&pp, vol, i, pod.volumes.len()));
        }
        for task in &pod.tasks {
            let tp = task_path(&pod.name, &task.name);
            if task.ipc_mode == Some(IpcMode::ShareParent) && task.shm_size.is_some() {
                shm_ignored(v, &tp);
            }
            for key in task.env.keys() {
                if key.is_empty() || key.contains('=') || key.contains('\0') {
                    v.invalid(
                        &format!("{tp}.env.{key}"),
                        key,
                        "env names cannot be empty or contain '='",
                    );
                }
            }
            if let Some(d) = &task.discovery
                && let Some(prefix) = &d.prefix
            {
                let here = format!("{tp}.discovery.prefix");
                if let Some(other) = prefixes.get(prefix)
                    && !other.starts_with(&format!("{pp}."))
                {
                    v.error(
                        &here,
                        SpecError::DuplicateName {
                            what: "discovery prefix".into(),
                            name: prefix.clone(),
                            other: other.clone(),
                        },
                    );
                } else {
                    prefixes.entry(prefix.clone()).or_insert(here);
                }
            }
            let mut tls = BTreeMap::new();
            for (i, t) in task.transport_encryption.iter().enumerate() {
                let path = format!("{tp}.transport-encryption[{i}].name");
                if let Some(first) = tls.insert(t.name.clone(), path.clone()) {
                    v.error(
                        &path,
                        SpecError::DuplicateName {
                            what: "transport-encryption name".into(),
                            name: t.name.clone(),
                            other: first,
                        },
                    );
                }
            }
            for (name, c) in &task.configs {
                if c.template.trim().is_empty() {
                    v.invalid(
                        &format!("{tp}.configs.{name}.template"),
                        &c.template,
                        "name the template file",
                    );
                }
                if c.dest.trim().is_empty() {
                    v.invalid(
                        &format!("{tp}.configs.{name}.dest"),
                        &c.dest,
                        "give a destination path",
                    );
                }
            }
        }
    }
}

/// `shm-size` with `ipc-mode: SHARE_PARENT` has no effect (the parent's /dev/shm is
/// shared). Real dcos-commons specs (helloworld `shm.yml`) do this, so it is a
/// warning, not an error.
fn shm_ignored(v: &mut Validator<'_>, base: &str) {
    v.warn(
        &format!("{base}.shm-size"),
        SpecError::Conflict {
            first: "ipc-mode: SHARE_PARENT".into(),
            second: "shm-size".into(),
            reason: "a shared /dev/shm keeps the parent's size, so shm-size is ignored: drop it or use PRIVATE".into(),
        },
    );
}

pub(super) fn volume_path(base: &str, vol: &VolumeSpec, _i: usize, _n: usize) -> String {
    match &vol.name {
        Some(n) => format!("{base}.volumes.{n}"),
        None => format!("{base}.volume"),
    }
}

pub(super) fn check_volume(v: &mut Validator<'_>, vol: &VolumeSpec, path: &str) {
    let mut chars = vol.path.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !ok {
        v.invalid(
            &format!("{path}.path"),
            &vol.path,
            "volume paths are relative names like 'data-dir': letters and digits first, then letters, digits, '_' or '-'",
        );
    }
    if !vol.profiles.is_empty() && vol.kind != VolumeType::Mount {
        v.error(
            &format!("{path}.profiles"),
            SpecError::Conflict {
                first: "profiles".into(),
                second: "type: ROOT".into(),
                reason: "disk profiles select MOUNT disks: use type MOUNT or drop profiles".into(),
            },
        );
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, p) in vol.profiles.iter().enumerate() {
        let ok = !p.is_empty()
            && p.len() <= 128
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !ok {
            v.invalid(
                &format!("{path}.profiles[{i}]"),
                p,
                "profile names are 1-128 characters of letters, digits, '_', '.' or '-'",
            );
        }
        if !seen.insert(p) {
            v.error(
                &format!("{path}.profiles[{i}]"),
                SpecError::DuplicateName {
                    what: "profile".into(),
                    name: p.clone(),
                    other: format!("{path}.profiles"),
                },
            );
        }
    }
}
