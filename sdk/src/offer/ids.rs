//! Ids the evaluator mints: resource ids, persistence ids, task and executor
//! ids. Randomness is injected through [`IdGenerator`], never drawn in secret.

use rand::{Rng as _, SeedableRng as _, rngs::StdRng};

/// Source of fresh UUID strings (`resource_id` labels, persistence ids, the
/// uuid part of task and executor ids, VIP label keys).
pub trait IdGenerator {
    /// A new id, unique within this generator's lifetime.
    fn next_uuid(&mut self) -> String;
}

impl<G: IdGenerator + ?Sized> IdGenerator for &mut G {
    fn next_uuid(&mut self) -> String {
        (**self).next_uuid()
    }
}

/// Deterministic, readable ids for tests: `00000000-0000-4000-8000-000000000001`, …
#[derive(Debug, Clone, Default)]
pub struct SequentialIds {
    next: u64,
}

impl SequentialIds {
    /// Starts counting after `start`.
    pub fn starting_at(start: u64) -> Self {
        Self { next: start }
    }
}

impl IdGenerator for SequentialIds {
    fn next_uuid(&mut self) -> String {
        self.next += 1;
        format!(
            "00000000-0000-4000-8000-{:012x}",
            self.next & 0xffff_ffff_ffff
        )
    }
}

/// Random version-4 UUIDs from a seeded RNG: production seeds it from the OS
/// once, simulations from their seed.
#[derive(Debug, Clone)]
pub struct SeededIds {
    rng: StdRng,
}

impl SeededIds {
    /// A generator whose ids are a function of `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// A generator seeded from the operating system.
    pub fn from_os() -> Self {
        Self {
            rng: StdRng::from_os_rng(),
        }
    }
}

impl IdGenerator for SeededIds {
    fn next_uuid(&mut self) -> String {
        let bytes: [u8; 16] = self.rng.random();
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .hyphenated()
            .to_string()
    }
}

/// The service name as it appears in Mesos ids: leading `/` dropped, other `/`
/// as `.` (dcos-commons: `/path/to/svc` → `path.to.svc`).
pub fn sanitized_service_name(service: &str) -> String {
    service.trim_start_matches('/').replace('/', ".")
}

/// `<pod>-<index>-<task>__<uuid>`: dcos-commons' single-service task id.
/// (Its multi-service mode prefixes the service name; Plinth runs one service
/// per framework, and keeping service names out of task ids keeps tools that
/// match ids by pod name unambiguous.)
pub fn task_id(task_name: &str, uuid: &str) -> String {
    format!("{task_name}__{uuid}")
}

/// `<service>__<pod>-<index>__<uuid>`: one executor per pod instance.
pub fn executor_id(service: &str, pod_instance: &str, uuid: &str) -> String {
    format!(
        "{}__{pod_instance}__{uuid}",
        sanitized_service_name(service)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_deterministic_and_shaped() {
        let mut a = SeededIds::new(7);
        let mut b = SeededIds::new(7);
        let x = a.next_uuid();
        assert_eq!(x, b.next_uuid());
        assert_ne!(x, a.next_uuid());
        assert_eq!(x.len(), 36);
        assert_eq!(&x[14..15], "4", "version 4");
        let mut s = SequentialIds::default();
        assert_eq!(s.next_uuid(), "00000000-0000-4000-8000-000000000001");
        assert_eq!(task_id("hello-0-server", "u"), "hello-0-server__u");
        assert_eq!(
            executor_id("hello-world", "hello-0", "u"),
            "hello-world__hello-0__u"
        );
    }
}
