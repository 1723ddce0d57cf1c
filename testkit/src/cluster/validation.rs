//! Validation rules the Mesos master applies to framework input: ids, roles,
//! `FrameworkInfo` at SUBSCRIBE, and tasks, task groups and executors at
//! ACCEPT. Each function returns the master's error text; the caller decides
//! whether it becomes an ERROR event, a 400 or a TASK_ERROR.

use std::collections::BTreeSet;

use plinth_proto::v1::framework_info::capability;
use plinth_proto::v1::{ExecutorInfo, FrameworkInfo, TaskInfo, executor_info};

/// Checks a framework-chosen id (task, executor, persistence, ...): non-empty,
/// at most 255 bytes, not `.`/`..`, no control characters, `/` or `\`.
pub fn validate_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("ID must not be empty".into());
    }
    if id.len() > 255 {
        return Err("ID must not be longer than 255 characters".into());
    }
    if id == "." || id == ".." {
        return Err("'.' and '..' are disallowed".into());
    }
    if id.chars().any(|c| c.is_control() || c == '/' || c == '\\') {
        return Err("ID must not contain control characters, '/' or '\\'".into());
    }
    Ok(())
}

/// Checks a role name (`roles::validate`).
pub fn validate_role(role: &str) -> Result<(), String> {
    if role == "*" {
        return Ok(());
    }
    if role.is_empty() {
        return Err("Empty role name is invalid".into());
    }
    if role.starts_with('/') || role.ends_with('/') {
        return Err(format!("Role '{role}' cannot start or end with a slash"));
    }
    if role.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "Role '{role}' cannot include whitespace or control characters"
        ));
    }
    for component in role.split('/') {
        if component.is_empty() {
            return Err(format!("Role '{role}' cannot contain '//'"));
        }
        if component == "." || component == ".." || component == "*" {
            return Err(format!(
                "Role '{role}' cannot contain '.', '..' or '*' as a component"
            ));
        }
        if component.starts_with('-') {
            return Err(format!(
                "Role '{role}' cannot contain a component starting with '-'"
            ));
        }
    }
    Ok(())
}

/// Whether the framework declared a capability.
#[must_use]
pub fn has_capability(info: &FrameworkInfo, cap: capability::Type) -> bool {
    info.capabilities
        .iter()
        .any(|c| c.r#type == Some(cap as i32))
}

/// The roles a framework subscribes with (`role` or, with MULTI_ROLE, `roles`).
#[must_use]
pub fn framework_roles(info: &FrameworkInfo) -> Vec<String> {
    if has_capability(info, capability::Type::MultiRole) {
        info.roles.clone()
    } else {
        vec![info.role.clone().unwrap_or_else(|| "*".to_owned())]
    }
}

/// Validates `FrameworkInfo` at SUBSCRIBE (the errors go into an ERROR event).
pub fn validate_framework_info(info: &FrameworkInfo) -> Result<(), String> {
    let multi = has_capability(info, capability::Type::MultiRole);
    if !multi && !info.roles.is_empty() {
        return Err(
            "'FrameworkInfo.roles' is set but MULTI_ROLE capability is not specified".into(),
        );
    }
    if multi && info.role.is_some() {
        return Err(
            "'FrameworkInfo.role' must not be set when the MULTI_ROLE capability is specified"
                .into(),
        );
    }
    let roles = framework_roles(info);
    let mut seen = BTreeSet::new();
    for role in &roles {
        validate_role(role)?;
        if !seen.insert(role) {
            return Err(format!(
                "'FrameworkInfo.roles' contains duplicate role '{role}'"
            ));
        }
    }
    if let Some(t) = info.failover_timeout
        && (!t.is_finite() || !(0.0..=1.0e12).contains(&t))
    {
        return Err(format!(
            "Invalid failover_timeout: {t} cannot be converted to a Duration"
        ));
    }
    if let Some(id) = &info.id
        && id.value.is_empty()
    {
        return Err("'FrameworkInfo.id' must not be empty when set".into());
    }
    Ok(())
}

/// Validates one task's shape (not its resources against the offer).
pub fn validate_task_shape(task: &TaskInfo, offer_agent: &str) -> Result<(), String> {
    validate_id(&task.task_id.value)
        .map_err(|e| format!("Task ID '{}' is invalid: {e}", task.task_id.value))?;
    if task.agent_id.value != offer_agent {
        return Err(format!(
            "Task uses invalid agent: {} (the offers are for {offer_agent})",
            task.agent_id.value
        ));
    }
    if task.resources.is_empty() {
        return Err("Task uses no resources".into());
    }
    if task.executor.is_some() == task.command.is_some() {
        return Err(
            "Task should have at least one (but not both) of CommandInfo or ExecutorInfo present"
                .into(),
        );
    }
    if let Some(executor) = &task.executor {
        validate_id(&executor.executor_id.value).map_err(|e| {
            format!(
                "Executor ID '{}' is invalid: {e}",
                executor.executor_id.value
            )
        })?;
        if executor
            .r#type
            .is_some_and(|t| t != executor_info::Type::Custom as i32)
        {
            return Err("'ExecutorInfo.type' must be 'CUSTOM' for LAUNCH".into());
        }
        if executor.command.is_none() {
            return Err("'ExecutorInfo.command' must be set for a custom executor".into());
        }
    }
    if let Some(command) = &task.command {
        let shell = command.shell.unwrap_or(true);
        if shell && command.value.is_none() {
            return Err("'CommandInfo.value' must be set for a shell command".into());
        }
    }
    if let Some(container) = &task.container
        && container.linux_info.as_ref().and_then(|l| l.share_cgroups) == Some(false)
    {
        return Err("Only tasks in a task group may have 'share_cgroups' set to 'false'".into());
    }
    Ok(())
}

/// Validates the executor of a LAUNCH_GROUP.
pub fn validate_group_executor(executor: &ExecutorInfo, framework_id: &str) -> Result<(), String> {
    validate_id(&executor.executor_id.value).map_err(|e| {
        format!(
            "Executor ID '{}' is invalid: {e}",
            executor.executor_id.value
        )
    })?;
    let Some(ty) = executor.r#type else {
        return Err("'ExecutorInfo.type' must be set".into());
    };
    if ty == executor_info::Type::Default as i32 {
        if executor.command.is_some() {
            return Err("'ExecutorInfo.command' must not be set for 'DEFAULT' executor".into());
        }
    } else if ty != executor_info::Type::Custom as i32 {
        return Err("Unknown 'ExecutorInfo.type'".into());
    }
    match &executor.framework_id {
        None => return Err("'ExecutorInfo.framework_id' must be set".into()),
        Some(id) if id.value != framework_id => {
            return Err(format!(
                "ExecutorInfo has an invalid FrameworkID (Actual: {} vs Expected: {framework_id})",
                id.value
            ));
        }
        Some(_) => {}
    }
    if executor
        .container
        .as_ref()
        .is_some_and(|c| c.r#type == plinth_proto::v1::container_info::Type::Docker as i32)
    {
        return Err("Docker ContainerInfo is not supported on the executor of a task group".into());
    }
    Ok(())
}

/// Validates one task of a task group.
pub fn validate_group_task(
    task: &TaskInfo,
    executor: &ExecutorInfo,
    offer_agent: &str,
) -> Result<(), String> {
    validate_id(&task.task_id.value)
        .map_err(|e| format!("Task ID '{}' is invalid: {e}", task.task_id.value))?;
    if task.agent_id.value != offer_agent {
        return Err(format!("Task uses invalid agent: {}", task.agent_id.value));
    }
    if task.resources.is_empty() {
        return Err("Task uses no resources".into());
    }
    if let Some(own) = &task.executor
        && own.executor_id != executor.executor_id
    {
        return Err(
            "The executor of a task in a task group must match the group's executor".into(),
        );
    }
    if task
        .container
        .as_ref()
        .is_some_and(|c| c.r#type == plinth_proto::v1::container_info::Type::Docker as i32)
    {
        return Err("Docker ContainerInfo is not supported on a task in a task group".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use plinth_proto::v1::framework_info::Capability;

    #[test]
    fn ids_follow_mesos_rules() {
        assert!(validate_id("task-1.a_b").is_ok());
        for bad in ["", ".", "..", "a/b", "a\\b", "a\nb"] {
            assert!(validate_id(bad).is_err(), "{bad:?}");
        }
        assert!(validate_id(&"x".repeat(256)).is_err());
    }

    #[test]
    fn roles_follow_mesos_rules() {
        for good in ["*", "eng", "eng/backend", "a-b"] {
            assert!(validate_role(good).is_ok(), "{good}");
        }
        for bad in [
            "", "/eng", "eng/", "a//b", "a/./b", "a/*", "-a", "a b", "a/-b",
        ] {
            assert!(validate_role(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn roles_need_multi_role() {
        let mut info = FrameworkInfo {
            user: "u".into(),
            name: "n".into(),
            roles: vec!["a".into()],
            ..Default::default()
        };
        assert!(
            validate_framework_info(&info)
                .unwrap_err()
                .contains("MULTI_ROLE")
        );
        info.capabilities.push(Capability {
            r#type: Some(capability::Type::MultiRole as i32),
        });
        assert!(validate_framework_info(&info).is_ok());
        info.roles.push("a".into());
        assert!(
            validate_framework_info(&info)
                .unwrap_err()
                .contains("duplicate")
        );
        info.roles = vec!["ok".into()];
        info.failover_timeout = Some(f64::INFINITY);
        assert!(validate_framework_info(&info).is_err());
    }
}
