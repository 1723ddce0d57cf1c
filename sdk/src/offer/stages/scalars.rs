//! Resource stage: cpus, mem and gpus of a resource set, reserved anew or
//! mapped onto (and resized to) the set's existing reservations.

use crate::offer::attempt::{Attempt, Grant, SetGrant};
use crate::offer::existing::StoredItems;
use crate::offer::outcome::Stage;
use crate::offer::prepare::{Prepared, SetPlan};
use crate::offer::resources::{CPUS, GPUS, MEM, Milli};

pub(super) fn evaluate(
    _prep: &Prepared<'_, '_>,
    plan: &SetPlan<'_>,
    stored: Option<&StoredItems>,
    a: &mut Attempt<'_>,
    grant: &mut SetGrant,
) {
    let set = plan.set;
    let wanted: Vec<(&'static str, Milli)> = [
        (CPUS, set.cpus.map(Milli::from_f64)),
        (MEM, set.memory.map(Milli::from_units)),
        (GPUS, set.gpus.map(Milli::from_f64)),
    ]
    .into_iter()
    .filter_map(|(n, v)| v.filter(|v| v.is_positive()).map(|v| (n, v)))
    .collect();
    if wanted.is_empty() {
        return;
    }
    let mut errors = Vec::new();
    let mut done = Vec::new();
    for (name, amount) in wanted {
        let existing = stored.and_then(|s| s.scalars.get(name));
        let result = match existing {
            Some(id) => a.reuse_scalar(name, id, amount, &format!("{name} of {}", set.id)),
            None => a
                .take_scalar(name, amount)
                .map(|()| Grant::NewScalar { name, amount }),
        };
        match result {
            Ok(g) => {
                done.push(format!("{name} {amount}"));
                grant.scalars.push(g);
            }
            Err(e) => errors.push(e),
        }
    }
    let result = if errors.is_empty() {
        Ok(format!("{}: {}", set.id, done.join(", ")))
    } else {
        Err(format!("{}: {}", set.id, errors.join("; ")))
    };
    a.record(Stage::Resources, result);
}
