//! Scalar and range arithmetic as Mesos does it, and readers/builders of
//! `Resource`s in the refined reservation format.
//!
//! Mesos keeps scalars to three decimal digits (it converts to fixed point,
//! `llrint(v * 1000)`, before adding or comparing). [`Milli`] is that fixed
//! point, so `0.1 + 0.2 == 0.3` here as it does in the master.

use std::fmt;

use plinth_proto::v1::resource::{AllocationInfo, ReservationInfo, reservation_info};
use plinth_proto::v1::{Label, Labels, Resource, value};

pub(crate) const CPUS: &str = "cpus";
pub(crate) const MEM: &str = "mem";
pub(crate) const DISK: &str = "disk";
pub(crate) const GPUS: &str = "gpus";
pub(crate) const PORTS: &str = "ports";

/// A scalar in thousandths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub(crate) struct Milli(pub(crate) i64);

impl Milli {
    /// Rounds like Mesos; NaN and infinities are 0, huge values saturate.
    pub(crate) fn from_f64(v: f64) -> Self {
        if !v.is_finite() {
            return Milli(0);
        }
        let x = (v * 1000.0).round();
        // `as` saturates at the i64 bounds.
        Milli(x as i64)
    }

    /// Whole units (MB for mem and disk).
    pub(crate) fn from_units(v: u64) -> Self {
        Milli(
            i64::try_from(v)
                .unwrap_or(i64::MAX / 1000)
                .saturating_mul(1000),
        )
    }

    pub(crate) fn to_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    pub(crate) fn is_positive(self) -> bool {
        self.0 > 0
    }
}

impl std::ops::Add for Milli {
    type Output = Milli;
    fn add(self, o: Milli) -> Milli {
        Milli(self.0.saturating_add(o.0))
    }
}

impl std::ops::Sub for Milli {
    type Output = Milli;
    fn sub(self, o: Milli) -> Milli {
        Milli(self.0.saturating_sub(o.0))
    }
}

impl std::ops::AddAssign for Milli {
    fn add_assign(&mut self, o: Milli) {
        *self = *self + o;
    }
}

impl std::ops::SubAssign for Milli {
    fn sub_assign(&mut self, o: Milli) {
        *self = *self - o;
    }
}

impl fmt::Display for Milli {
    /// `1.1`, `0.5`, `32`: no trailing zeros.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let (whole, frac) = (abs / 1000, abs % 1000);
        if frac == 0 {
            write!(f, "{sign}{whole}")
        } else {
            let s = format!("{frac:03}");
            write!(f, "{sign}{whole}.{}", s.trim_end_matches('0'))
        }
    }
}

/// A set of `u64` values as sorted, disjoint, non-adjacent inclusive spans.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Ranges {
    spans: Vec<(u64, u64)>,
}

impl Ranges {
    pub(crate) fn from_proto(r: &value::Ranges) -> Self {
        let mut out = Ranges::default();
        for x in &r.range {
            out.add(x.begin, x.end);
        }
        out
    }

    pub(crate) fn single(v: u64) -> Self {
        Ranges {
            spans: vec![(v, v)],
        }
    }

    /// Adds `[b, e]`; ignored when `b > e`.
    pub(crate) fn add(&mut self, b: u64, e: u64) {
        if b > e {
            return;
        }
        let i = self
            .spans
            .partition_point(|&(_, end)| end.saturating_add(1) < b);
        let mut nb = b;
        let mut ne = e;
        let mut j = i;
        while j < self.spans.len() && self.spans[j].0 <= ne.saturating_add(1) {
            nb = nb.min(self.spans[j].0);
            ne = ne.max(self.spans[j].1);
            j += 1;
        }
        self.spans.splice(i..j, [(nb, ne)]);
    }

    pub(crate) fn extend(&mut self, other: &Ranges) {
        for &(b, e) in &other.spans {
            self.add(b, e);
        }
    }

    #[cfg(test)]
    pub(crate) fn contains(&self, v: u64) -> bool {
        let i = self.spans.partition_point(|&(_, end)| end < v);
        self.spans.get(i).is_some_and(|&(b, _)| b <= v)
    }

    /// True when every value of `other` is in `self`.
    #[cfg(test)]
    pub(crate) fn contains_all(&self, other: &Ranges) -> bool {
        other.spans.iter().all(|&(b, e)| {
            let i = self.spans.partition_point(|&(_, end)| end < b);
            self.spans
                .get(i)
                .is_some_and(|&(sb, se)| sb <= b && e <= se)
        })
    }

    /// Removes `v`; false when it was not there.
    pub(crate) fn remove(&mut self, v: u64) -> bool {
        let i = self.spans.partition_point(|&(_, end)| end < v);
        let Some(&(b, e)) = self.spans.get(i) else {
            return false;
        };
        if v < b {
            return false;
        }
        match (v == b, v == e) {
            (true, true) => {
                self.spans.remove(i);
            }
            (true, false) => self.spans[i].0 = v + 1,
            (false, true) => self.spans[i].1 = v - 1,
            (false, false) => {
                self.spans[i].1 = v - 1;
                self.spans.insert(i + 1, (v + 1, e));
            }
        }
        true
    }

    /// The smallest value in `[lo, hi]`.
    pub(crate) fn first_in(&self, lo: u64, hi: u64) -> Option<u64> {
        let i = self.spans.partition_point(|&(_, end)| end < lo);
        let &(b, _) = self.spans.get(i)?;
        let v = b.max(lo);
        (v <= hi).then_some(v)
    }

    /// The smallest value.
    pub(crate) fn first(&self) -> Option<u64> {
        self.spans.first().map(|&(b, _)| b)
    }

    /// Number of values (saturating).
    #[cfg(test)]
    pub(crate) fn count(&self) -> u64 {
        self.spans.iter().fold(0u64, |acc, &(b, e)| {
            acc.saturating_add(e - b).saturating_add(1)
        })
    }

    pub(crate) fn to_proto(&self) -> value::Ranges {
        value::Ranges {
            range: self
                .spans
                .iter()
                .map(|&(begin, end)| value::Range { begin, end })
                .collect(),
        }
    }
}

impl fmt::Display for Ranges {
    /// `[31000-32000,33000]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, &(b, e)) in self.spans.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if b == e {
                write!(f, "{b}")?;
            } else {
                write!(f, "{b}-{e}")?;
            }
        }
        f.write_str("]")
    }
}

// === Reading resources ===

/// The scalar value of `r` (0 when absent).
pub(crate) fn scalar_of(r: &Resource) -> Milli {
    r.scalar
        .as_ref()
        .map_or(Milli(0), |s| Milli::from_f64(s.value))
}

/// The value of label `key`.
pub(crate) fn label_value<'a>(labels: Option<&'a Labels>, key: &str) -> Option<&'a str> {
    labels?
        .labels
        .iter()
        .find(|l| l.key == key)
        .and_then(|l| l.value.as_deref())
}

/// The reservation stack in the refined format, converting the
/// pre-refinement one (`role` + `reservation`) if that is what we got.
pub(crate) fn reservation_stack(r: &Resource) -> Vec<ReservationInfo> {
    if !r.reservations.is_empty() {
        return r.reservations.clone();
    }
    match r.role.as_deref() {
        None | Some("*") => Vec::new(),
        Some(role) => {
            let dynamic = r.reservation.is_some();
            let mut info = r.reservation.as_deref().cloned().unwrap_or_default();
            info.role = Some(role.to_string());
            info.set_type(if dynamic {
                reservation_info::Type::Dynamic
            } else {
                reservation_info::Type::Static
            });
            vec![info]
        }
    }
}

/// The current (top) reservation of `r`, in either format.
pub(crate) fn top_reservation(r: &Resource) -> Option<ReservationInfo> {
    if let Some(top) = r.reservations.last() {
        return Some(top.clone());
    }
    reservation_stack(r).pop()
}

/// True for DYNAMIC reservations (refined `type`, or the old `reservation`).
pub(crate) fn is_dynamic(info: &ReservationInfo) -> bool {
    info.r#type == Some(reservation_info::Type::Dynamic as i32)
}

/// The `resource_id` label of the top reservation.
pub(crate) fn resource_id(r: &Resource) -> Option<&str> {
    let labels = match r.reservations.last() {
        Some(top) => top.labels.as_ref(),
        None => r.reservation.as_ref().and_then(|x| x.labels.as_ref()),
    };
    label_value(labels, super::labels::RESOURCE_ID)
}

/// The `framework_id` label of the top reservation.
pub(crate) fn reservation_framework_id(r: &Resource) -> Option<&str> {
    let labels = match r.reservations.last() {
        Some(top) => top.labels.as_ref(),
        None => r.reservation.as_ref().and_then(|x| x.labels.as_ref()),
    };
    label_value(labels, super::labels::FRAMEWORK_ID)
}

/// The persistence id of a persistent volume.
pub(crate) fn persistence_id(r: &Resource) -> Option<&str> {
    r.disk.as_ref()?.persistence.as_ref().map(|p| p.id.as_str())
}

/// The container path of a persistent volume.
pub(crate) fn container_path(r: &Resource) -> Option<&str> {
    r.disk
        .as_ref()?
        .volume
        .as_ref()
        .map(|v| v.container_path.as_str())
}

// === Building resources ===

pub(crate) fn label(key: &str, value: impl Into<String>) -> Label {
    Label {
        key: key.to_string(),
        value: Some(value.into()),
    }
}

/// A DYNAMIC reservation for `role` by `principal` with our labels.
pub(crate) fn dynamic_reservation(
    role: &str,
    principal: &str,
    resource_id: &str,
    framework_id: &str,
) -> ReservationInfo {
    let mut info = ReservationInfo {
        principal: Some(principal.to_string()),
        labels: Some(Labels {
            labels: vec![
                label(super::labels::RESOURCE_ID, resource_id),
                label(super::labels::FRAMEWORK_ID, framework_id),
            ],
        }),
        role: Some(role.to_string()),
        r#type: None,
    };
    info.set_type(reservation_info::Type::Dynamic);
    info
}

/// A bare resource allocated to `alloc_role` with reservation stack `stack`.
pub(crate) fn base_resource(name: &str, alloc_role: &str, stack: Vec<ReservationInfo>) -> Resource {
    let mut r = Resource {
        name: name.to_string(),
        allocation_info: Some(AllocationInfo {
            role: Some(alloc_role.to_string()),
        }),
        reservations: stack,
        ..Resource::default()
    };
    r.set_type(value::Type::Scalar);
    r
}

/// Sets a scalar value.
pub(crate) fn with_scalar(mut r: Resource, amount: Milli) -> Resource {
    r.set_type(value::Type::Scalar);
    r.scalar = Some(value::Scalar {
        value: amount.to_f64(),
    });
    r.ranges = None;
    r
}

/// Sets a ranges value.
pub(crate) fn with_ranges(mut r: Resource, ranges: &Ranges) -> Resource {
    r.set_type(value::Type::Ranges);
    r.ranges = Some(ranges.to_proto());
    r.scalar = None;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn milli_rounds_like_mesos() {
        assert_eq!(
            Milli::from_f64(0.1) + Milli::from_f64(0.2),
            Milli::from_f64(0.3)
        );
        assert_eq!(Milli::from_f64(0.0004), Milli(0));
        assert_eq!(Milli::from_f64(0.0005), Milli(1));
        assert_eq!(Milli::from_f64(f64::NAN), Milli(0));
        assert_eq!(Milli::from_f64(1e300).0, i64::MAX);
        assert_eq!(Milli::from_f64(1.1).to_string(), "1.1");
        assert_eq!(Milli::from_units(32).to_string(), "32");
        assert_eq!(Milli(1050).to_string(), "1.05");
        assert_eq!(Milli(-500).to_string(), "-0.5");
    }

    #[test]
    fn ranges_merge_remove_and_search() {
        let mut r = Ranges::default();
        r.add(10, 20);
        r.add(22, 30);
        r.add(21, 21);
        assert_eq!(r.to_string(), "[10-30]");
        assert!(r.remove(15));
        assert!(!r.remove(15));
        assert_eq!(r.to_string(), "[10-14,16-30]");
        assert_eq!(r.first_in(14, 100), Some(14));
        assert_eq!(r.first_in(15, 100), Some(16));
        assert_eq!(r.first_in(31, 100), None);
        assert!(r.remove(10) && r.remove(30) && r.remove(14));
        assert_eq!(r.to_string(), "[11-13,16-29]");
        assert!(r.contains(12) && !r.contains(14));
        assert!(r.contains_all(&Ranges::single(20)));
        assert_eq!(r.count(), 17);
        r.add(5, 1);
        assert_eq!(r.count(), 17, "empty span ignored");
        let mut full = Ranges::default();
        full.add(0, u64::MAX);
        assert!(full.remove(u64::MAX) && full.remove(0));
        assert_eq!(full.first(), Some(1));
    }
}
