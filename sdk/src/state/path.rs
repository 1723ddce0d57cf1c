//! Node paths: validation, normalisation and the small helpers every backend
//! shares.
//!
//! A path is a `/`-separated list of segments relative to the persister's
//! root (`Tasks/hello-0-server/TaskInfo`). A leading or trailing `/` is
//! ignored. Segments are non-empty, are not `.` or `..`, hold no control
//! characters and none of the characters ZooKeeper refuses, and are at most
//! [`MAX_SEGMENT_BYTES`] long; a whole path is at most [`MAX_PATH_BYTES`].

use super::error::{Error, Result};

/// Longest allowed path segment, in bytes.
pub(crate) const MAX_SEGMENT_BYTES: usize = 200;
/// Longest allowed path, in bytes.
pub(crate) const MAX_PATH_BYTES: usize = 1024;

/// Validates `path` and returns it without leading or trailing `/`. The root
/// itself (an empty path) is refused.
pub(crate) fn normalize(path: &str) -> Result<String> {
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        return Err(invalid(
            path,
            "empty path (the state root is not a node you can write)",
        ));
    }
    if trimmed.len() > MAX_PATH_BYTES {
        return Err(invalid(path, "path longer than 1024 bytes"));
    }
    for segment in trimmed.split('/') {
        check_segment(path, segment)?;
    }
    Ok(trimmed.to_owned())
}

/// Like [`normalize`], but an empty path (or `/`) is the root (`""`).
pub(crate) fn normalize_or_root(path: &str) -> Result<String> {
    if path.trim_matches('/').is_empty() {
        Ok(String::new())
    } else {
        normalize(path)
    }
}

/// Validates a name that becomes one path segment (a task name, a property
/// key, a configuration ID).
pub(crate) fn validate_segment(name: &str) -> Result<()> {
    check_segment(name, name)
}

fn check_segment(path: &str, segment: &str) -> Result<()> {
    if segment.is_empty() {
        return Err(invalid(path, "empty segment (`//`)"));
    }
    if segment == "." || segment == ".." {
        return Err(invalid(path, "`.` and `..` are not allowed"));
    }
    if segment.contains('/') {
        return Err(invalid(path, "a name may not contain `/`"));
    }
    if segment.len() > MAX_SEGMENT_BYTES {
        return Err(invalid(path, "segment longer than 200 bytes"));
    }
    let bad = |c: char| {
        c.is_control()
            || ('\u{E000}'..='\u{F8FF}').contains(&c)
            || ('\u{FFF0}'..='\u{FFFF}').contains(&c)
    };
    if segment.chars().any(bad) {
        return Err(invalid(
            path,
            "control or reserved characters are not allowed",
        ));
    }
    Ok(())
}

fn invalid(path: &str, reason: &'static str) -> Error {
    Error::InvalidPath {
        path: path.to_owned(),
        reason,
    }
}

/// `a/b` + `c` → `a/b/c`; an empty base is the root.
pub(crate) fn join(base: &str, child: &str) -> String {
    if base.is_empty() {
        child.to_owned()
    } else {
        format!("{base}/{child}")
    }
}

/// Proper ancestors of a normalised path, outermost first (`a/b/c` → `a`,
/// `a/b`). The root is not included.
pub(crate) fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(move |(i, _)| &path[..i])
}

/// True if `node` is `root` or lies below it.
pub(crate) fn is_within(node: &str, root: &str) -> bool {
    root.is_empty()
        || node == root
        || (node.len() > root.len()
            && node.starts_with(root)
            && node.as_bytes()[root.len()] == b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_and_rejects() {
        assert_eq!(normalize("/Tasks/a/TaskInfo/").unwrap(), "Tasks/a/TaskInfo");
        for bad in [
            "",
            "/",
            "a//b",
            "a/../b",
            "a/./b",
            "a/\u{0}",
            "a/\n",
            &"x".repeat(201),
        ] {
            assert!(normalize(bad).is_err(), "{bad:?} accepted");
        }
        assert!(validate_segment("hello-0-server:task-status").is_ok());
        assert!(validate_segment("a/b").is_err());
    }

    #[test]
    fn helpers() {
        assert_eq!(ancestors("a/b/c").collect::<Vec<_>>(), ["a", "a/b"]);
        assert!(ancestors("a").next().is_none());
        assert!(is_within("a/b", "a"));
        assert!(!is_within("ab", "a"));
        assert!(is_within("a", ""));
        assert_eq!(join("", "a"), "a");
        assert_eq!(join("a", "b"), "a/b");
    }
}
