//! Port stage: static ports, then dynamic ones (sticky on a relaunch in
//! place). Pods on a virtual network do not reserve ports; their dynamic
//! ports come from 1025–2025.

use crate::offer::attempt::{Attempt, Grant, PortGrant, SetGrant};
use crate::offer::existing::StoredItems;
use crate::offer::outcome::Stage;
use crate::offer::prepare::{Prepared, SetPlan};
use crate::spec::PortSpec;

const OVERLAY_DYNAMIC: (u64, u64) = (1025, 2025);

pub(super) fn evaluate(
    prep: &Prepared<'_, '_>,
    plan: &SetPlan<'_>,
    stored: Option<&StoredItems>,
    a: &mut Attempt<'_>,
    grant: &mut SetGrant,
) {
    let ports = &plan.set.ports;
    if ports.is_empty() {
        return;
    }
    let overlay = !prep.pod.networks.is_empty();
    let mut errors = Vec::new();
    // Static ports first, so a dynamic port never takes a static one's number.
    let order = ports
        .values()
        .filter(|p| p.port != 0)
        .chain(ports.values().filter(|p| p.port == 0));
    for spec in order {
        let result = if overlay {
            overlay_port(spec, stored, a)
        } else {
            host_port(spec, stored, a)
        };
        match result {
            Ok(g) => grant.ports.push(g),
            Err(e) => errors.push(e),
        }
    }
    let result = if errors.is_empty() {
        let list: Vec<String> = grant
            .ports
            .iter()
            .map(|g| format!("{}={}", g.name, g.port))
            .collect();
        Ok(format!("{}: ports {}", plan.set.id, list.join(", ")))
    } else {
        Err(format!("{}: {}", plan.set.id, errors.join("; ")))
    };
    a.record(Stage::Ports, result);
}

fn ranges_of(spec: &PortSpec) -> Vec<(u64, u64)> {
    if spec.ranges.is_empty() {
        vec![(1, u64::from(u16::MAX))]
    } else {
        spec.ranges
            .iter()
            .map(|r| {
                let (b, e) = r.effective();
                (u64::from(b), u64::from(e))
            })
            .collect()
    }
}

fn in_ranges(port: u64, ranges: &[(u64, u64)]) -> bool {
    ranges.iter().any(|&(b, e)| b <= port && port <= e)
}

fn host_port(
    spec: &PortSpec,
    stored: Option<&StoredItems>,
    a: &mut Attempt<'_>,
) -> Result<PortGrant, String> {
    let name = spec.name.clone();
    let what = format!("port {name}");
    if spec.port != 0 {
        let port = u64::from(spec.port);
        if let Some(id) = stored.and_then(|s| s.ports.get(&port)) {
            let resource = a.take_reserved(id, &what)?;
            return Ok(PortGrant {
                name,
                port,
                grant: Some(Grant::Reuse {
                    resource,
                    resize: crate::offer::attempt::Resize::Keep,
                }),
            });
        }
        if a.take_port(port) {
            return Ok(PortGrant {
                name,
                port,
                grant: Some(Grant::NewPort { port }),
            });
        }
        return Err(format!(
            "port {port} ({name}) is not offered (free ports offered: {})",
            a.offered_ports()
        ));
    }
    let ranges = ranges_of(spec);
    // Sticky: the port this task had before, if it is still acceptable.
    let previous = stored.and_then(|s| {
        let port = *s.port_numbers.get(&name)?;
        let id = s.ports.get(&port)?;
        in_ranges(port, &ranges).then_some((port, id))
    });
    if let Some((port, id)) = previous {
        let resource = a.take_reserved(id, &what)?;
        return Ok(PortGrant {
            name,
            port,
            grant: Some(Grant::Reuse {
                resource,
                resize: crate::offer::attempt::Resize::Keep,
            }),
        });
    }
    match a.take_dynamic_port(&ranges) {
        Some(port) => Ok(PortGrant {
            name,
            port,
            grant: Some(Grant::NewPort { port }),
        }),
        None => {
            let want: Vec<String> = ranges.iter().map(|(b, e)| format!("{b}-{e}")).collect();
            Err(format!(
                "no free port for dynamic port '{name}' in [{}] (free ports offered: {})",
                want.join(","),
                a.offered_ports()
            ))
        }
    }
}

fn overlay_port(
    spec: &PortSpec,
    stored: Option<&StoredItems>,
    a: &mut Attempt<'_>,
) -> Result<PortGrant, String> {
    let name = spec.name.clone();
    let port = if spec.port != 0 {
        u64::from(spec.port)
    } else if let Some(&p) = stored.and_then(|s| s.port_numbers.get(&name)) {
        p
    } else {
        let (lo, hi) = OVERLAY_DYNAMIC;
        (lo..=hi)
            .find(|p| !a.overlay_ports.contains(p))
            .ok_or_else(|| format!("no free virtual-network port for '{name}' in {lo}-{hi}"))?
    };
    a.overlay_ports.push(port);
    Ok(PortGrant {
        name,
        port,
        grant: None,
    })
}
