//! From a `CommandInfo` to a child process: what to exec, with which
//! environment, in which directory, in its own process group.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;

use plinth_proto::v1::environment::variable;
use plinth_proto::v1::{CommandInfo, Environment, secret};

use super::{LaunchSpec, ProcessError};

/// `PATH` when the testkit itself has none.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The variables a command runs with (sorted, so runs are reproducible).
pub(crate) type Env = BTreeMap<String, String>;

/// What to exec for a `CommandInfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Invocation {
    program: String,
    arg0: Option<String>,
    args: Vec<String>,
}

// === impl Invocation ===

impl Invocation {
    /// `/bin/sh -c value` when `shell` (the default), else `value` with
    /// `arguments` as its argv (`arguments[0]` is `argv[0]`, as in Mesos).
    /// `None` when there is no `value` to run.
    pub(crate) fn of(command: &CommandInfo) -> Option<Self> {
        let value = command.value.as_deref().filter(|value| !value.is_empty())?;
        Some(if command.shell() {
            // Mesos ignores `arguments` for shell commands; so do we.
            Self {
                program: "/bin/sh".into(),
                arg0: None,
                args: vec!["-c".into(), value.into()],
            }
        } else {
            let mut argv = command.arguments.iter().cloned();
            Self {
                program: value.into(),
                arg0: argv.next(),
                args: argv.collect(),
            }
        })
    }

    /// The command line, for messages.
    pub(crate) fn display(&self) -> String {
        match self.args.as_slice() {
            [flag, script] if self.program == "/bin/sh" && flag == "-c" => script.clone(),
            args => std::iter::once(self.program.as_str())
                .chain(args.iter().map(String::as_str))
                .collect::<Vec<_>>()
                .join(" "),
        }
    }

    /// A command ready to spawn: cwd `dir`, exactly `env`, stdin closed, its
    /// own process group (so kills reach its children) and killed if the
    /// handle is dropped before it was reaped.
    pub(crate) fn command(&self, dir: &Path, env: &Env) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(&self.program);
        if let Some(arg0) = &self.arg0 {
            command.arg0(arg0);
        }
        command
            .args(&self.args)
            .current_dir(dir)
            .env_clear()
            .envs(env)
            .stdin(Stdio::null())
            .process_group(0)
            .kill_on_drop(true);
        command
    }
}

/// The environment of the task's command (and of its checks): a minimal base,
/// the variables a Mesos agent sets, then the executor's and the task's own
/// variables, later ones overriding earlier ones as in Mesos.
pub(crate) fn task_env(spec: &LaunchSpec, sandbox: &Path) -> Result<Env, ProcessError> {
    let sandbox = sandbox.to_string_lossy().into_owned();
    let path = std::env::var("PATH").unwrap_or_else(|_| DEFAULT_PATH.into());
    let mut env = Env::from([
        ("PATH".into(), path),
        // HOME in the sandbox keeps tools' dotfiles and caches per task.
        ("HOME".into(), sandbox.clone()),
        ("MESOS_SANDBOX".into(), sandbox.clone()),
        ("MESOS_DIRECTORY".into(), sandbox),
        ("MESOS_TASK_ID".into(), spec.task.task_id.value.clone()),
        ("MESOS_AGENT_ID".into(), spec.agent_id.clone()),
        ("MESOS_FRAMEWORK_ID".into(), spec.framework_id.clone()),
        // Every process agent is on this host; dcos-commons' bootstrap and
        // templates read the task's IP from here.
        ("MESOS_CONTAINER_IP".into(), "127.0.0.1".into()),
    ]);
    if let Some(executor) = &spec.executor {
        env.insert(
            "MESOS_EXECUTOR_ID".into(),
            executor.executor_id.value.clone(),
        );
        let executor_env = executor
            .command
            .as_ref()
            .and_then(|c| c.environment.as_ref());
        add_variables(&mut env, executor_env)?;
    }
    add_variables(
        &mut env,
        spec.task
            .command
            .as_ref()
            .and_then(|c| c.environment.as_ref()),
    )?;
    Ok(env)
}

/// Adds `environment`'s variables to `env`. VALUE variables and secrets of
/// type VALUE are resolved; secret references cannot be.
pub(crate) fn add_variables(
    env: &mut Env,
    environment: Option<&Environment>,
) -> Result<(), ProcessError> {
    for var in environment
        .map(|e| e.variables.as_slice())
        .unwrap_or_default()
    {
        let value = match var.r#type() {
            variable::Type::Secret => {
                let secret = var
                    .secret
                    .as_ref()
                    .filter(|s| s.r#type() == secret::Type::Value);
                let data = secret
                    .and_then(|s| s.value.as_ref())
                    .map(|v| v.data.as_slice());
                let data = data.ok_or_else(|| ProcessError::UnsupportedSecret {
                    name: var.name.clone(),
                })?;
                String::from_utf8_lossy(data).into_owned()
            }
            // UNKNOWN is what old schedulers send when they mean VALUE.
            variable::Type::Value | variable::Type::Unknown => {
                var.value.clone().unwrap_or_default()
            }
        };
        env.insert(var.name.clone(), value);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use plinth_proto::v1::environment::Variable;
    use plinth_proto::v1::{Secret, TaskId, TaskInfo};

    fn shell(value: &str, shell: Option<bool>, arguments: &[&str]) -> CommandInfo {
        CommandInfo {
            value: Some(value.into()),
            shell,
            arguments: arguments.iter().map(|a| (*a).into()).collect(),
            ..CommandInfo::default()
        }
    }

    #[test]
    fn shell_is_the_default_and_ignores_arguments() {
        let invocation = Invocation::of(&shell("echo hi", None, &["x"])).expect("a command");
        assert_eq!(invocation.program, "/bin/sh");
        assert_eq!(invocation.args, ["-c", "echo hi"]);
        assert_eq!(invocation.display(), "echo hi");
    }

    #[test]
    fn without_shell_arguments_are_the_argv() {
        let invocation = Invocation::of(&shell("/bin/echo", Some(false), &["echo", "a", "b"]))
            .expect("a command");
        assert_eq!(invocation.program, "/bin/echo");
        assert_eq!(invocation.arg0.as_deref(), Some("echo"));
        assert_eq!(invocation.args, ["a", "b"]);
        assert_eq!(invocation.display(), "/bin/echo a b");
    }

    #[test]
    fn no_value_no_invocation() {
        assert_eq!(Invocation::of(&CommandInfo::default()), None);
        assert_eq!(Invocation::of(&shell("", None, &[])), None);
    }

    fn var(name: &str, value: &str) -> Variable {
        Variable {
            name: name.into(),
            value: Some(value.into()),
            ..Variable::default()
        }
    }

    #[test]
    fn task_variables_override_executor_and_agent_ones() {
        let spec = LaunchSpec {
            agent_id: "a1".into(),
            framework_id: "f1".into(),
            task: TaskInfo {
                task_id: TaskId { value: "t1".into() },
                command: Some(CommandInfo {
                    environment: Some(Environment {
                        variables: vec![var("X", "task"), var("HOME", "/h")],
                    }),
                    ..CommandInfo::default()
                }),
                ..TaskInfo::default()
            },
            executor: Some(plinth_proto::v1::ExecutorInfo {
                command: Some(CommandInfo {
                    environment: Some(Environment {
                        variables: vec![var("X", "executor"), var("Y", "y")],
                    }),
                    ..CommandInfo::default()
                }),
                ..plinth_proto::v1::ExecutorInfo::default()
            }),
            volumes: Vec::new(),
        };
        let env = task_env(&spec, Path::new("/sb")).expect("an environment");
        assert_eq!(env["X"], "task");
        assert_eq!(env["Y"], "y");
        assert_eq!(env["HOME"], "/h");
        assert_eq!(env["MESOS_SANDBOX"], "/sb");
        assert_eq!(env["MESOS_TASK_ID"], "t1");
        assert_eq!(env["MESOS_AGENT_ID"], "a1");
        assert_eq!(env["MESOS_FRAMEWORK_ID"], "f1");
    }

    #[test]
    fn value_secrets_resolve_and_references_are_refused() {
        let value_secret = Variable {
            name: "S".into(),
            r#type: Some(variable::Type::Secret as i32),
            secret: Some(Box::new(Secret {
                r#type: Some(secret::Type::Value as i32),
                value: Some(secret::Value {
                    data: b"hush".to_vec(),
                }),
                reference: None,
            })),
            value: None,
        };
        let mut env = Env::new();
        let environment = Environment {
            variables: vec![value_secret.clone()],
        };
        add_variables(&mut env, Some(&environment)).expect("a value secret");
        assert_eq!(env["S"], "hush");

        let reference = Variable {
            secret: Some(Box::new(Secret {
                r#type: Some(secret::Type::Reference as i32),
                ..Secret::default()
            })),
            ..value_secret
        };
        let error = add_variables(
            &mut env,
            Some(&Environment {
                variables: vec![reference],
            }),
        )
        .expect_err("a secret reference");
        assert!(error.to_string().contains("variable S "), "{error}");
    }
}
