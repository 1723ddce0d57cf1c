//! Resource arithmetic, the way the Mesos master does it.
//!
//! [`Resources`] is a normalised bag of `mesos.v1.Resource`s in the
//! *post-refinement* format (a `reservations` stack, no `role`/`reservation`
//! fields, no `allocation_info`). Resources of the same kind (name, type,
//! reservation stack, disk info, revocable/shared, provider) merge; scalars
//! are kept with Mesos' three decimal digits, ranges are coalesced, sets are
//! unions. MOUNT disks and persistent volumes are atomic: they are only ever
//! added or subtracted whole.
//!
//! The functions at the bottom convert from and to the formats frameworks
//! see: [`upgrade`] accepts either format from a framework, [`downgrade`]
//! produces the pre-refinement `role` + `reservation` form for frameworks
//! without RESERVATION_REFINEMENT, [`endpoint`] the both-formats form that
//! `/master/state` shows.

use std::collections::BTreeSet;
use std::fmt;

use plinth_proto::v1::resource::disk_info::source;
use plinth_proto::v1::resource::{self, ReservationInfo, reservation_info};
use plinth_proto::v1::{Resource, Value, value};

/// Scalars are compared and summed in thousandths, as Mesos does.
const SCALE: f64 = 1000.0;

fn to_milli(v: f64) -> i64 {
    // Saturating float-to-int conversion; validated inputs are finite.
    (v * SCALE).round() as i64
}

fn from_milli(m: i64) -> f64 {
    m as f64 / SCALE
}

/// A normalised multiset of resources (post-refinement format).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Resources {
    items: Vec<Resource>,
}

// === impl Resources ===

impl Resources {
    /// No resources.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds up `resources` (each must already be in the internal format).
    #[must_use]
    pub fn from_list<'a>(resources: impl IntoIterator<Item = &'a Resource>) -> Self {
        let mut out = Self::new();
        for r in resources {
            out.add(r);
        }
        out
    }

    /// The resources, normalised.
    #[must_use]
    pub fn as_slice(&self) -> &[Resource] {
        &self.items
    }

    /// Consumes into the normalised list.
    #[must_use]
    pub fn into_vec(self) -> Vec<Resource> {
        self.items
    }

    /// Whether there is nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Iterates over the resources.
    pub fn iter(&self) -> std::slice::Iter<'_, Resource> {
        self.items.iter()
    }

    /// Adds one resource, merging it with one of the same kind.
    pub fn add(&mut self, r: &Resource) {
        if is_empty_resource(r) {
            return;
        }
        if !is_atomic(r)
            && let Some(existing) = self.items.iter_mut().find(|e| same_kind(e, r))
        {
            merge_into(existing, r);
            return;
        }
        self.items.push(r.clone());
    }

    /// Adds every resource of `other`.
    pub fn add_all(&mut self, other: &Resources) {
        for r in &other.items {
            self.add(r);
        }
    }

    /// Subtracts one resource; fails (leaving `self` unchanged) if it is not contained.
    pub fn subtract(&mut self, r: &Resource) -> Result<(), String> {
        if is_empty_resource(r) {
            return Ok(());
        }
        let Some(index) = self
            .items
            .iter()
            .position(|e| same_kind(e, r) && value_contains(e, r, is_atomic(r)))
        else {
            return Err(format!("{} is not available", describe(r)));
        };
        let existing = &mut self.items[index];
        if is_atomic(r) {
            self.items.remove(index);
            return Ok(());
        }
        subtract_value(existing, r);
        if is_empty_resource(existing) {
            self.items.remove(index);
        }
        Ok(())
    }

    /// Subtracts every resource of `other`, all or nothing.
    pub fn subtract_all(&mut self, other: &Resources) -> Result<(), String> {
        let mut copy = self.clone();
        for r in &other.items {
            copy.subtract(r)?;
        }
        *self = copy;
        Ok(())
    }

    /// Whether `other` is contained in `self`.
    #[must_use]
    pub fn contains(&self, other: &Resources) -> bool {
        let mut copy = self.clone();
        other.items.iter().all(|r| copy.subtract(r).is_ok())
    }

    /// Keeps only the resources `keep` accepts.
    #[must_use]
    pub fn filter(&self, mut keep: impl FnMut(&Resource) -> bool) -> Resources {
        Resources {
            items: self.items.iter().filter(|r| keep(r)).cloned().collect(),
        }
    }

    /// The sum of the scalar resource `name` (in any reservation state).
    #[must_use]
    pub fn scalar(&self, name: &str) -> f64 {
        let milli: i64 = self
            .items
            .iter()
            .filter(|r| r.name == name)
            .filter_map(|r| r.scalar.as_ref())
            .map(|s| to_milli(s.value))
            .sum();
        from_milli(milli)
    }

    /// All port-like ranges of resource `name`, coalesced.
    #[must_use]
    pub fn ranges(&self, name: &str) -> Vec<(u64, u64)> {
        let all: Vec<(u64, u64)> = self
            .items
            .iter()
            .filter(|r| r.name == name)
            .filter_map(|r| r.ranges.as_ref())
            .flat_map(|rs| rs.range.iter().map(|x| (x.begin, x.end)))
            .collect();
        coalesce(all)
    }
}

impl fmt::Display for Resources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.items.iter().map(describe).collect();
        f.write_str(&parts.join("; "))
    }
}

impl<'a> IntoIterator for &'a Resources {
    type Item = &'a Resource;
    type IntoIter = std::slice::Iter<'a, Resource>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

/// A short human description (`cpus(eng):1.5`, `ports(*):[31000-31005]`).
#[must_use]
pub fn describe(r: &Resource) -> String {
    let role = reservation_role(r).unwrap_or("*");
    let mut text = format!("{}({role})", r.name);
    if let Some(p) = r.disk.as_ref().and_then(|d| d.persistence.as_ref()) {
        text.push_str(&format!("[{}]", p.id));
    }
    if is_mount(r) {
        text.push_str("[MOUNT]");
    }
    text.push(':');
    if let Some(s) = &r.scalar {
        text.push_str(&from_milli(to_milli(s.value)).to_string());
    } else if let Some(rs) = &r.ranges {
        let parts: Vec<String> = rs
            .range
            .iter()
            .map(|x| format!("{}-{}", x.begin, x.end))
            .collect();
        text.push_str(&format!("[{}]", parts.join(", ")));
    } else if let Some(s) = &r.set {
        text.push_str(&format!("{{{}}}", s.item.join(", ")));
    }
    text
}

/// The role the resource is currently reserved for (top of the stack).
#[must_use]
pub fn reservation_role(r: &Resource) -> Option<&str> {
    r.reservations.last().and_then(|ri| ri.role.as_deref())
}

/// Whether the resource is a MOUNT disk.
#[must_use]
pub fn is_mount(r: &Resource) -> bool {
    r.disk
        .as_ref()
        .and_then(|d| d.source.as_ref())
        .is_some_and(|s| s.r#type == source::Type::Mount as i32)
}

/// Whether the resource is a persistent volume.
#[must_use]
pub fn is_persistent_volume(r: &Resource) -> bool {
    r.disk.as_ref().is_some_and(|d| d.persistence.is_some())
}

/// Atomic resources are never split: MOUNT disks and persistent volumes.
fn is_atomic(r: &Resource) -> bool {
    is_mount(r) || is_persistent_volume(r)
}

fn is_empty_resource(r: &Resource) -> bool {
    match value::Type::try_from(r.r#type) {
        Ok(value::Type::Scalar) => r.scalar.as_ref().is_none_or(|s| to_milli(s.value) == 0),
        Ok(value::Type::Ranges) => r.ranges.as_ref().is_none_or(|rs| rs.range.is_empty()),
        Ok(value::Type::Set) => r.set.as_ref().is_none_or(|s| s.item.is_empty()),
        _ => true,
    }
}

/// Same name, type and metadata: the values may be added up.
fn same_kind(a: &Resource, b: &Resource) -> bool {
    a.name == b.name
        && a.r#type == b.r#type
        && a.reservations == b.reservations
        && a.disk == b.disk
        && a.revocable == b.revocable
        && a.shared == b.shared
        && a.provider_id == b.provider_id
        && a.allocation_info == b.allocation_info
        && a.role == b.role
        && a.reservation == b.reservation
}

fn merge_into(existing: &mut Resource, r: &Resource) {
    match value::Type::try_from(r.r#type) {
        Ok(value::Type::Scalar) => {
            let add = r.scalar.as_ref().map_or(0, |s| to_milli(s.value));
            let cur = existing.scalar.as_ref().map_or(0, |s| to_milli(s.value));
            existing.scalar = Some(value::Scalar {
                value: from_milli(cur + add),
            });
        }
        Ok(value::Type::Ranges) => {
            let mut all = ranges_of(existing);
            all.extend(ranges_of(r));
            existing.ranges = Some(to_ranges(&coalesce(all)));
        }
        Ok(value::Type::Set) => {
            let mut items: BTreeSet<String> = set_of(existing);
            items.extend(set_of(r));
            existing.set = Some(value::Set {
                item: items.into_iter().collect(),
            });
        }
        _ => {}
    }
}

fn value_contains(e: &Resource, r: &Resource, exact: bool) -> bool {
    match value::Type::try_from(r.r#type) {
        Ok(value::Type::Scalar) => {
            let have = e.scalar.as_ref().map_or(0, |s| to_milli(s.value));
            let want = r.scalar.as_ref().map_or(0, |s| to_milli(s.value));
            if exact { have == want } else { have >= want }
        }
        Ok(value::Type::Ranges) => {
            let have = coalesce(ranges_of(e));
            let want = coalesce(ranges_of(r));
            if exact {
                have == want
            } else {
                want.iter()
                    .all(|(b, en)| have.iter().any(|(hb, he)| hb <= b && en <= he))
            }
        }
        Ok(value::Type::Set) => {
            let have = set_of(e);
            let want = set_of(r);
            if exact {
                have == want
            } else {
                want.is_subset(&have)
            }
        }
        _ => false,
    }
}

fn subtract_value(e: &mut Resource, r: &Resource) {
    match value::Type::try_from(r.r#type) {
        Ok(value::Type::Scalar) => {
            let have = e.scalar.as_ref().map_or(0, |s| to_milli(s.value));
            let want = r.scalar.as_ref().map_or(0, |s| to_milli(s.value));
            e.scalar = Some(value::Scalar {
                value: from_milli(have - want),
            });
        }
        Ok(value::Type::Ranges) => {
            let mut have = coalesce(ranges_of(e));
            for (b, en) in coalesce(ranges_of(r)) {
                have = have
                    .into_iter()
                    .flat_map(|(hb, he)| {
                        let mut parts = Vec::new();
                        if en < hb || b > he {
                            parts.push((hb, he));
                        } else {
                            if hb < b {
                                parts.push((hb, b - 1));
                            }
                            if en < he {
                                parts.push((en + 1, he));
                            }
                        }
                        parts
                    })
                    .collect();
            }
            e.ranges = Some(to_ranges(&have));
        }
        Ok(value::Type::Set) => {
            let want = set_of(r);
            let left: Vec<String> = set_of(e)
                .into_iter()
                .filter(|i| !want.contains(i))
                .collect();
            e.set = Some(value::Set { item: left });
        }
        _ => {}
    }
}

fn ranges_of(r: &Resource) -> Vec<(u64, u64)> {
    r.ranges
        .as_ref()
        .map(|rs| rs.range.iter().map(|x| (x.begin, x.end)).collect())
        .unwrap_or_default()
}

fn set_of(r: &Resource) -> BTreeSet<String> {
    r.set
        .as_ref()
        .map(|s| s.item.iter().cloned().collect())
        .unwrap_or_default()
}

/// Sorts and merges overlapping or adjacent ranges.
#[must_use]
pub fn coalesce(mut ranges: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    ranges.retain(|(b, e)| b <= e);
    ranges.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
    for (b, e) in ranges {
        match out.last_mut() {
            Some(last) if b <= last.1.saturating_add(1) => last.1 = last.1.max(e),
            _ => out.push((b, e)),
        }
    }
    out
}

fn to_ranges(ranges: &[(u64, u64)]) -> value::Ranges {
    value::Ranges {
        range: ranges
            .iter()
            .map(|&(begin, end)| value::Range { begin, end })
            .collect(),
    }
}

// === constructors ===

/// An unreserved scalar resource.
#[must_use]
pub fn scalar(name: &str, v: f64) -> Resource {
    Resource {
        name: name.to_owned(),
        r#type: value::Type::Scalar as i32,
        scalar: Some(value::Scalar { value: v }),
        ..Default::default()
    }
}

/// An unreserved ranges resource.
#[must_use]
pub fn ranges(name: &str, ranges: &[(u64, u64)]) -> Resource {
    Resource {
        name: name.to_owned(),
        r#type: value::Type::Ranges as i32,
        ranges: Some(to_ranges(&coalesce(ranges.to_vec()))),
        ..Default::default()
    }
}

/// An unreserved MOUNT disk of `mb` megabytes rooted at `root`.
#[must_use]
pub fn mount_disk(mb: f64, root: &str) -> Resource {
    let mut r = scalar("disk", mb);
    r.disk = Some(Box::new(resource::DiskInfo {
        source: Some(resource::disk_info::Source {
            r#type: source::Type::Mount as i32,
            mount: Some(source::Mount {
                root: Some(root.to_owned()),
            }),
            ..Default::default()
        }),
        ..Default::default()
    }));
    r
}

/// Statically reserves `r` for `role` (bottom of the stack).
#[must_use]
pub fn statically_reserved(mut r: Resource, role: &str) -> Resource {
    r.reservations = vec![ReservationInfo {
        r#type: Some(reservation_info::Type::Static as i32),
        role: Some(role.to_owned()),
        ..Default::default()
    }];
    r
}

// === validation and format conversion ===

/// Checks that a framework-supplied resource is well formed (`Resources::validate`).
pub fn validate(r: &Resource) -> Result<(), String> {
    if r.name.is_empty() {
        return Err("Empty resource name".into());
    }
    let ty = value::Type::try_from(r.r#type)
        .map_err(|_| format!("Invalid type for resource '{}'", r.name))?;
    match ty {
        value::Type::Scalar => {
            let Some(s) = &r.scalar else {
                return Err(format!(
                    "Invalid scalar resource '{}': no scalar value",
                    r.name
                ));
            };
            if r.ranges.is_some() || r.set.is_some() {
                return Err(format!(
                    "Invalid scalar resource '{}': extra values",
                    r.name
                ));
            }
            if !s.value.is_finite() || s.value < 0.0 {
                return Err(format!(
                    "Invalid scalar resource '{}': {} is not a non-negative number",
                    r.name, s.value
                ));
            }
        }
        value::Type::Ranges => {
            let Some(rs) = &r.ranges else {
                return Err(format!("Invalid ranges resource '{}': no ranges", r.name));
            };
            if r.scalar.is_some() || r.set.is_some() {
                return Err(format!(
                    "Invalid ranges resource '{}': extra values",
                    r.name
                ));
            }
            if let Some(bad) = rs.range.iter().find(|x| x.begin > x.end) {
                return Err(format!(
                    "Invalid ranges resource '{}': begin {} > end {}",
                    r.name, bad.begin, bad.end
                ));
            }
        }
        value::Type::Set => {
            if r.set.is_none() || r.scalar.is_some() || r.ranges.is_some() {
                return Err(format!("Invalid set resource '{}'", r.name));
            }
        }
        value::Type::Text => return Err(format!("Invalid type TEXT for resource '{}'", r.name)),
    }
    if r.disk.is_some() && r.name != "disk" {
        return Err(format!(
            "DiskInfo should not be set for {} resource",
            r.name
        ));
    }
    if r.revocable.is_some() && (r.disk.is_some() || !r.reservations.is_empty()) {
        return Err(format!(
            "Revocable resource '{}' cannot be reserved or a disk",
            r.name
        ));
    }
    for (i, ri) in r.reservations.iter().enumerate() {
        let role = ri.role.as_deref().unwrap_or("");
        crate::cluster::validation::validate_role(role)
            .map_err(|e| format!("Invalid reservation role '{role}' of '{}': {e}", r.name))?;
        if role == "*" {
            return Err(format!(
                "Resource '{}' cannot be reserved for role '*'",
                r.name
            ));
        }
        if i > 0 && ri.r#type != Some(reservation_info::Type::Dynamic as i32) {
            return Err(format!(
                "Refined reservations of '{}' must be DYNAMIC",
                r.name
            ));
        }
        if i > 0 {
            let parent = r.reservations[i - 1].role.as_deref().unwrap_or("");
            if !role.starts_with(&format!("{parent}/")) {
                return Err(format!(
                    "Reservation role '{role}' of '{}' is not a sub-role of '{parent}'",
                    r.name
                ));
            }
        }
    }
    if let Some(d) = &r.disk {
        if let Some(p) = &d.persistence {
            crate::cluster::validation::validate_id(&p.id)
                .map_err(|e| format!("Invalid persistence ID '{}': {e}", p.id))?;
            let Some(v) = &d.volume else {
                return Err("Expecting 'volume' to be set for persistent volume".into());
            };
            if v.host_path.is_some() {
                return Err("Expecting 'host_path' to be unset for persistent volume".into());
            }
            if v.container_path.is_empty()
                || v.container_path.starts_with('/')
                || v.container_path.contains("..")
            {
                return Err(format!(
                    "Persistent volume container path '{}' must be relative and non-nested",
                    v.container_path
                ));
            }
            if r.reservations.is_empty() {
                return Err(format!(
                    "Persistent volume '{}' must be on reserved disk",
                    p.id
                ));
            }
        } else if d.volume.is_some() {
            return Err("Non-persistent volume not supported".into());
        }
    }
    Ok(())
}

/// Brings a framework-supplied resource into the internal format: accepts
/// either the pre-refinement (`role` + `reservation`) or post-refinement
/// (`reservations`) format, and strips `allocation_info` (checked by callers).
pub fn upgrade(r: &Resource) -> Result<Resource, String> {
    let mut out = r.clone();
    out.allocation_info = None;
    let pre = r.role.is_some() || r.reservation.is_some();
    if !r.reservations.is_empty() {
        if pre {
            // `/master/state` shows both formats; accept that only when they agree.
            let single = r.reservations.len() == 1;
            let same_role = r.role.as_deref() == r.reservations[0].role.as_deref();
            if !(single && same_role) {
                return Err(format!(
                    "Resource '{}' has both 'reservations' and 'role'/'reservation' set",
                    r.name
                ));
            }
        }
        out.role = None;
        out.reservation = None;
        validate(&out)?;
        return Ok(out);
    }
    let role = r.role.clone().unwrap_or_else(|| "*".to_owned());
    out.role = None;
    out.reservation = None;
    if role == "*" {
        if r.reservation.is_some() {
            return Err(format!(
                "Resource '{}' has a reservation for role '*'",
                r.name
            ));
        }
    } else {
        let mut ri = ReservationInfo {
            role: Some(role),
            ..Default::default()
        };
        if let Some(old) = &r.reservation {
            ri.r#type = Some(reservation_info::Type::Dynamic as i32);
            ri.principal.clone_from(&old.principal);
            ri.labels.clone_from(&old.labels);
        } else {
            ri.r#type = Some(reservation_info::Type::Static as i32);
        }
        out.reservations = vec![ri];
    }
    validate(&out)?;
    Ok(out)
}

/// The pre-refinement form of an internal resource; `None` for refined
/// reservations, which frameworks without RESERVATION_REFINEMENT never see.
#[must_use]
pub fn downgrade(r: &Resource) -> Option<Resource> {
    let mut out = r.clone();
    match r.reservations.as_slice() {
        [] => out.role = Some("*".into()),
        [only] => {
            out.role.clone_from(&only.role);
            if only.r#type == Some(reservation_info::Type::Dynamic as i32) {
                out.reservation = Some(Box::new(ReservationInfo {
                    principal: only.principal.clone(),
                    labels: only.labels.clone(),
                    ..Default::default()
                }));
            }
        }
        _ => return None,
    }
    out.reservations.clear();
    Some(out)
}

/// The form `/master/state` shows: post-refinement, plus the pre-refinement
/// fields when there is at most one reservation.
#[must_use]
pub fn endpoint(r: &Resource) -> Resource {
    match downgrade(r) {
        Some(mut pre) => {
            pre.reservations.clone_from(&r.reservations);
            pre
        }
        None => r.clone(),
    }
}

/// The wire value of `ReservationInfo.Type.DYNAMIC`.
#[must_use]
pub fn reservation_type_dynamic() -> i32 {
    reservation_info::Type::Dynamic as i32
}

/// Sets `allocation_info.role` on a resource.
#[must_use]
pub fn allocated(mut r: Resource, role: &str) -> Resource {
    r.allocation_info = Some(resource::AllocationInfo {
        role: Some(role.to_owned()),
    });
    r
}

/// The resource with its top reservation popped (what RESERVE consumes and
/// UNRESERVE gives back).
#[must_use]
pub fn pop_reservation(r: &Resource) -> Resource {
    let mut out = r.clone();
    out.reservations.pop();
    out
}

/// The plain disk a persistent volume is carved from.
#[must_use]
pub fn strip_persistence(r: &Resource) -> Resource {
    let mut out = r.clone();
    if let Some(d) = &mut out.disk {
        d.persistence = None;
        d.volume = None;
        if d.source.is_none() {
            out.disk = None;
        }
    }
    out
}

/// A flat `{name: value}` map as `/master/state` shows resources
/// (`"ports": "[31000-32000]"`).
#[must_use]
pub fn flat_json(resources: &Resources) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for name in ["cpus", "gpus", "mem", "disk"] {
        map.insert(name.into(), serde_json::json!(resources.scalar(name)));
    }
    let mut names: BTreeSet<&str> = BTreeSet::new();
    for r in resources {
        names.insert(r.name.as_str());
    }
    for name in names {
        if map.contains_key(name) {
            continue;
        }
        let ranges = resources.ranges(name);
        if !ranges.is_empty() {
            let parts: Vec<String> = ranges.iter().map(|(b, e)| format!("{b}-{e}")).collect();
            map.insert(
                name.into(),
                serde_json::json!(format!("[{}]", parts.join(", "))),
            );
        } else {
            map.insert(name.into(), serde_json::json!(resources.scalar(name)));
        }
    }
    serde_json::Value::Object(map)
}

/// A `Value` of type SCALAR (for attributes and the like).
#[must_use]
pub fn scalar_value(v: f64) -> Value {
    Value {
        r#type: value::Type::Scalar as i32,
        scalar: Some(value::Scalar { value: v }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dyn_reserved(mut r: Resource, role: &str, principal: &str) -> Resource {
        r.reservations.push(ReservationInfo {
            r#type: Some(reservation_info::Type::Dynamic as i32),
            role: Some(role.into()),
            principal: Some(principal.into()),
            labels: None,
        });
        r
    }

    #[test]
    fn scalars_keep_three_decimals() {
        let mut rs = Resources::new();
        for _ in 0..10 {
            rs.add(&scalar("cpus", 0.1));
        }
        assert_eq!(rs.scalar("cpus"), 1.0);
        rs.subtract(&scalar("cpus", 0.3)).unwrap();
        assert_eq!(rs.scalar("cpus"), 0.7);
        assert!(
            rs.subtract(&scalar("cpus", 0.7001)).is_ok(),
            "0.7001 rounds to 0.700"
        );
        assert!(rs.is_empty());
    }

    #[test]
    fn ranges_split_and_coalesce() {
        let mut rs = Resources::from_list([&ranges("ports", &[(31000, 31010)])]);
        rs.subtract(&ranges("ports", &[(31003, 31004)])).unwrap();
        assert_eq!(rs.ranges("ports"), vec![(31000, 31002), (31005, 31010)]);
        assert!(rs.subtract(&ranges("ports", &[(31002, 31003)])).is_err());
        rs.add(&ranges("ports", &[(31003, 31004)]));
        assert_eq!(rs.ranges("ports"), vec![(31000, 31010)]);
    }

    #[test]
    fn reservations_do_not_mix_with_unreserved() {
        let mut rs = Resources::from_list([&scalar("mem", 100.0)]);
        rs.add(&dyn_reserved(scalar("mem", 50.0), "eng", "p"));
        assert_eq!(rs.as_slice().len(), 2);
        assert!(
            rs.subtract(&dyn_reserved(scalar("mem", 60.0), "eng", "p"))
                .is_err()
        );
        assert!(!rs.contains(&Resources::from_list([&scalar("mem", 120.0)])));
        assert_eq!(rs.scalar("mem"), 150.0);
    }

    #[test]
    fn mount_disks_and_volumes_are_atomic() {
        let disk = mount_disk(1000.0, "/mnt/d0");
        let mut rs = Resources::from_list([&disk]);
        assert!(rs.subtract(&mount_disk(500.0, "/mnt/d0")).is_err());
        rs.subtract(&disk).unwrap();
        assert!(rs.is_empty());
    }

    #[test]
    fn pre_refinement_format_round_trips() {
        let mut pre = scalar("cpus", 1.0);
        pre.role = Some("eng".into());
        pre.reservation = Some(Box::new(ReservationInfo {
            principal: Some("ops".into()),
            ..Default::default()
        }));
        let internal = upgrade(&pre).unwrap();
        assert_eq!(internal.role, None);
        assert_eq!(reservation_role(&internal), Some("eng"));
        assert_eq!(
            internal.reservations[0].r#type,
            Some(reservation_info::Type::Dynamic as i32)
        );
        assert_eq!(downgrade(&internal).unwrap(), pre);
        let unreserved = upgrade(&scalar("mem", 1.0)).unwrap();
        assert_eq!(downgrade(&unreserved).unwrap().role.as_deref(), Some("*"));
    }

    #[test]
    fn refined_reservations_are_hidden_from_old_frameworks() {
        let r = dyn_reserved(
            dyn_reserved(scalar("cpus", 1.0), "eng", "p"),
            "eng/web",
            "p",
        );
        assert!(validate(&r).is_ok());
        assert!(downgrade(&r).is_none());
        let bad = dyn_reserved(dyn_reserved(scalar("cpus", 1.0), "eng", "p"), "ops", "p");
        assert!(validate(&bad).unwrap_err().contains("sub-role"));
    }

    #[test]
    fn invalid_resources_are_rejected() {
        assert!(validate(&scalar("cpus", -1.0)).is_err());
        assert!(validate(&scalar("cpus", f64::NAN)).is_err());
        assert!(validate(&scalar("", 1.0)).is_err());
        let mut both = dyn_reserved(scalar("cpus", 1.0), "eng", "p");
        both.role = Some("ops".into());
        assert!(upgrade(&both).is_err());
    }
}
