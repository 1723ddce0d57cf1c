//! Where a process agent keeps things on disk: a fresh sandbox per task run,
//! a directory per persistent volume, and the symlink that mounts one into
//! the other.
//!
//! Layout under the runtime's work dir:
//!
//! ```text
//! agents/<agent>/frameworks/<framework>/tasks/<task>/runs/<n>   sandbox of run n
//! agents/<agent>/frameworks/<framework>/tasks/<task>/runs/latest -> <n>
//! agents/<agent>/volumes/<persistence id>                       a persistent volume
//! ```
//!
//! Ids come from schedulers, so each becomes exactly one path component
//! through [`path_component`]: an id can never climb out of its directory.

use std::ffi::OsString;
use std::io;
use std::path::{Component, Path, PathBuf};

use super::{ProcessError, VolumeMount};

/// How many run directories one task id may accumulate before we give up
/// looking for a free number (a relaunch loop gone wrong, most likely).
const MAX_RUNS: u64 = 100_000;

/// `id` as a single, safe path component. `/`, NUL and `%` are
/// percent-encoded, and so are `.` and `..` as whole names; the empty id is
/// `%`. The mapping is injective, so distinct ids never share a directory.
pub(crate) fn path_component(id: &str) -> OsString {
    match id {
        "" => return "%".into(),
        "." => return "%2E".into(),
        ".." => return "%2E%2E".into(),
        _ => {}
    }
    let mut out = String::with_capacity(id.len());
    for c in id.chars() {
        match c {
            '/' => out.push_str("%2F"),
            '\0' => out.push_str("%00"),
            '%' => out.push_str("%25"),
            c => out.push(c),
        }
    }
    out.into()
}

/// The directory of persistent volume `persistence_id` on `agent_id`.
pub(crate) fn volume_dir(work_dir: &Path, agent_id: &str, persistence_id: &str) -> PathBuf {
    work_dir
        .join("agents")
        .join(path_component(agent_id))
        .join("volumes")
        .join(path_component(persistence_id))
}

/// Creates a fresh, empty sandbox for a new run of a task and points
/// `runs/latest` at it.
pub(crate) async fn create(
    work_dir: &Path,
    agent_id: &str,
    framework_id: &str,
    task_id: &str,
) -> Result<PathBuf, ProcessError> {
    let runs = work_dir
        .join("agents")
        .join(path_component(agent_id))
        .join("frameworks")
        .join(path_component(framework_id))
        .join("tasks")
        .join(path_component(task_id))
        .join("runs");
    let failed = |path: &Path| {
        let path = path.to_owned();
        move |source| ProcessError::CreateSandbox { path, source }
    };
    tokio::fs::create_dir_all(&runs)
        .await
        .map_err(failed(&runs))?;
    let mut run = next_run(&runs).await.map_err(failed(&runs))?;
    // create_dir (not _all) fails if the run exists, so two launches can
    // never share a sandbox even if they race on the number.
    let sandbox = loop {
        let candidate = runs.join(run.to_string());
        match tokio::fs::create_dir(&candidate).await {
            Ok(()) => break candidate,
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists && run < MAX_RUNS => {
                run += 1
            }
            Err(error) => return Err(failed(&candidate)(error)),
        }
    };
    point_latest_at(&runs, run).await;
    Ok(sandbox)
}

/// One more than the highest numbered run so far.
async fn next_run(runs: &Path) -> io::Result<u64> {
    let mut entries = tokio::fs::read_dir(runs).await?;
    let mut next = 0;
    while let Some(entry) = entries.next_entry().await? {
        if let Some(n) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<u64>().ok())
        {
            next = next.max(n.saturating_add(1));
        }
    }
    Ok(next)
}

/// `runs/latest` -> `<run>`, for people browsing the work dir. Failing to
/// update it does not fail the launch.
async fn point_latest_at(runs: &Path, run: u64) {
    let latest = runs.join("latest");
    let _ = tokio::fs::remove_file(&latest).await;
    if let Err(error) = tokio::fs::symlink(run.to_string(), &latest).await {
        tracing::debug!(path = %latest.display(), %error, "could not update the latest run link");
    }
}

/// The volume's container path as a path inside the sandbox: relative, with
/// only normal components (no `..`, no root).
fn container_path(volume: &VolumeMount) -> Result<PathBuf, ProcessError> {
    let path = Path::new(&volume.container_path);
    let normal = path
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if volume.container_path.is_empty() || !normal || path.file_name().is_none() {
        return Err(ProcessError::InvalidContainerPath {
            persistence_id: volume.persistence_id.clone(),
            container_path: volume.container_path.clone(),
        });
    }
    Ok(path.to_owned())
}

/// Makes `volume` appear in `sandbox` at its container path: creates the
/// volume's directory if this is its first use and symlinks it in.
pub(crate) async fn mount(
    sandbox: &Path,
    volume_dir: &Path,
    volume: &VolumeMount,
) -> Result<(), ProcessError> {
    let target = sandbox.join(container_path(volume)?);
    let failed = |path: &Path| {
        let path = path.to_owned();
        let persistence_id = volume.persistence_id.clone();
        move |source| ProcessError::MountVolume {
            persistence_id,
            path,
            source,
        }
    };
    tokio::fs::create_dir_all(volume_dir)
        .await
        .map_err(failed(volume_dir))?;
    if let Some(parent) = target.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(failed(parent))?;
    }
    tokio::fs::symlink(volume_dir, &target)
        .await
        .map_err(failed(&target))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_become_one_harmless_component() {
        assert_eq!(path_component("web-0__a1b2"), "web-0__a1b2");
        assert_eq!(path_component("../../etc"), "..%2F..%2Fetc");
        assert_eq!(path_component(".."), "%2E%2E");
        assert_eq!(path_component("."), "%2E");
        assert_eq!(path_component(""), "%");
        assert_eq!(path_component("a\0b"), "a%00b");
        // Injective: a literal "%2F" does not collide with "/".
        assert_ne!(path_component("a%2Fb"), path_component("a/b"));
    }

    #[test]
    fn volume_dirs_stay_under_the_agent() {
        let dir = volume_dir(Path::new("/w"), "agent/..", "..");
        assert_eq!(dir, Path::new("/w/agents/agent%2F../volumes/%2E%2E"));
    }

    #[test]
    fn container_paths_must_stay_in_the_sandbox() {
        let volume = |path: &str| VolumeMount {
            persistence_id: "p".into(),
            container_path: path.into(),
        };
        assert_eq!(
            container_path(&volume("data")).ok(),
            Some(PathBuf::from("data"))
        );
        assert_eq!(
            container_path(&volume("a/b")).ok(),
            Some(PathBuf::from("a/b"))
        );
        for bad in ["", "/data", "../data", "a/../../b", ".", "a/.."] {
            assert!(
                container_path(&volume(bad)).is_err(),
                "{bad:?} was accepted"
            );
        }
    }
}
