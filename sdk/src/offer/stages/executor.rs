//! Executor stage (new or running executor) and executor overhead resources.

use crate::offer::attempt::{Attempt, ExecutorGrant, Grant};
use crate::offer::context::ServiceContext;
use crate::offer::outcome::Stage;
use crate::offer::prepare::Prepared;
use crate::offer::resources::{CPUS, DISK, MEM, Milli};

/// Reuses the pod's executor when it is running on the agent, else plans a
/// new executor id.
pub(super) fn choose(prep: &Prepared<'_, '_>, a: &mut Attempt<'_>) {
    let running = prep
        .existing
        .as_ref()
        .and_then(|e| e.running_executor(a.pool));
    let message = match running {
        Some(info) => {
            a.executor = Some(ExecutorGrant::Running(Box::new(info.clone())));
            format!("reusing running executor {}", info.executor_id.value)
        }
        None => {
            a.executor = Some(ExecutorGrant::New {
                resources: Vec::new(),
            });
            format!("new DEFAULT executor for {}", prep.pod_instance)
        }
    };
    a.record(Stage::Executor, Ok(message));
}

/// Reserves (or maps) the executor's cpus, mem and disk, once per pod.
pub(super) fn resources(ctx: &ServiceContext, prep: &Prepared<'_, '_>, a: &mut Attempt<'_>) {
    if matches!(a.executor, Some(ExecutorGrant::Running(_))) {
        a.record(
            Stage::ExecutorResources,
            Ok("executor is running: its resources stay in use".into()),
        );
        return;
    }
    let wanted: [(&'static str, Milli); 3] = [
        (CPUS, Milli::from_f64(ctx.executor.cpus)),
        (MEM, Milli::from_f64(ctx.executor.mem_mb)),
        (DISK, Milli::from_f64(ctx.executor.disk_mb)),
    ];
    let stored = prep.existing.as_ref().map(|e| &e.executor_items);
    let mut grants = Vec::new();
    let mut errors = Vec::new();
    let mut done = Vec::new();
    for (name, amount) in wanted {
        let existing = stored.and_then(|s| s.scalars.get(name));
        let result = match existing {
            Some(id) => a.reuse_scalar(name, id, amount, &format!("executor {name}")),
            None if amount.is_positive() => a
                .take_scalar(name, amount)
                .map(|()| Grant::NewScalar { name, amount }),
            None => continue,
        };
        match result {
            Ok(g) => {
                done.push(format!("{name} {amount}"));
                grants.push(g);
            }
            Err(e) => errors.push(e),
        }
    }
    if let Some(ExecutorGrant::New { resources }) = &mut a.executor {
        *resources = grants;
    }
    let result = if errors.is_empty() {
        Ok(format!("executor: {}", done.join(", ")))
    } else {
        Err(errors.join("; "))
    };
    a.record(Stage::ExecutorResources, result);
}
