//! Trimming decoded messages that live long in memory.
//!
//! prost grows repeated fields one push at a time, so a decoded one-element
//! `Vec` has room for four and a nine-element one for sixteen. A scheduler
//! holds a `TaskInfo` and a `TaskStatus` per task for its whole life, each
//! with a dozen such vectors (resources, their reservation stacks, labels,
//! environment variables); [`Compact::compact`] gives the spare room back.
//! It changes no value: only capacities.

use crate::v1::{
    CommandInfo, DiscoveryInfo, ExecutorInfo, Labels, Resource, TaskInfo, TaskStatus, check_info,
};

/// Shrinks every vector in a message (and the messages in it) to its length.
pub trait Compact {
    /// Gives spare capacity back to the allocator.
    fn compact(&mut self);
}

impl<T: Compact> Compact for Vec<T> {
    fn compact(&mut self) {
        self.iter_mut().for_each(Compact::compact);
        self.shrink_to_fit();
    }
}

impl<T: Compact> Compact for Option<T> {
    fn compact(&mut self) {
        if let Some(inner) = self {
            inner.compact();
        }
    }
}

impl<T: Compact> Compact for Box<T> {
    fn compact(&mut self) {
        (**self).compact();
    }
}

impl Compact for Labels {
    fn compact(&mut self) {
        self.labels.shrink_to_fit();
    }
}

impl Compact for Resource {
    fn compact(&mut self) {
        for reservation in &mut self.reservations {
            reservation.labels.compact();
        }
        self.reservations.shrink_to_fit();
        if let Some(ranges) = &mut self.ranges {
            ranges.range.shrink_to_fit();
        }
        if let Some(set) = &mut self.set {
            set.item.shrink_to_fit();
        }
    }
}

impl Compact for CommandInfo {
    fn compact(&mut self) {
        self.uris.shrink_to_fit();
        self.arguments.shrink_to_fit();
        if let Some(env) = &mut self.environment {
            env.variables.shrink_to_fit();
        }
    }
}

impl Compact for DiscoveryInfo {
    fn compact(&mut self) {
        if let Some(ports) = &mut self.ports {
            for port in &mut ports.ports {
                port.labels.compact();
            }
            ports.ports.shrink_to_fit();
        }
        self.labels.compact();
    }
}

impl Compact for ExecutorInfo {
    fn compact(&mut self) {
        self.resources.compact();
        self.command.compact();
        self.discovery.compact();
        self.labels.compact();
    }
}

impl Compact for TaskInfo {
    fn compact(&mut self) {
        self.resources.compact();
        self.executor.compact();
        self.command.compact();
        self.labels.compact();
        self.discovery.compact();
        if let Some(health) = &mut self.health_check {
            health.command.compact();
        }
        if let Some(check) = &mut self.check {
            compact_check_command(check.command.as_mut());
        }
    }
}

fn compact_check_command(command: Option<&mut check_info::Command>) {
    if let Some(command) = command {
        command.command.compact();
    }
}

impl Compact for TaskStatus {
    fn compact(&mut self) {
        self.labels.compact();
        if let Some(container) = &mut self.container_status {
            for network in &mut container.network_infos {
                network.ip_addresses.shrink_to_fit();
                network.groups.shrink_to_fit();
                network.labels.compact();
            }
            container.network_infos.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;
    use crate::v1::resource::ReservationInfo;
    use crate::v1::{Environment, Label, environment};

    #[test]
    fn a_decoded_task_info_gives_its_spare_room_back_and_keeps_every_value() {
        let label = Label {
            key: "resource_id".into(),
            value: Some("r-1".into()),
        };
        let variables = (0..9)
            .map(|i| environment::Variable {
                name: format!("V{i}"),
                ..environment::Variable::default()
            })
            .collect();
        let original = TaskInfo {
            resources: vec![Resource {
                name: "cpus".into(),
                reservations: vec![ReservationInfo {
                    labels: Some(Labels {
                        labels: vec![label],
                    }),
                    ..ReservationInfo::default()
                }],
                ..Resource::default()
            }],
            command: Some(CommandInfo {
                environment: Some(Environment { variables }),
                ..CommandInfo::default()
            }),
            ..TaskInfo::default()
        };
        let mut task = TaskInfo::decode(original.encode_to_vec().as_slice()).expect("decodes");
        let variables = |t: &TaskInfo| {
            t.command
                .as_ref()
                .unwrap()
                .environment
                .as_ref()
                .unwrap()
                .variables
                .capacity()
        };
        assert!(variables(&task) > 9, "prost decodes with spare room");
        assert!(task.resources[0].reservations.capacity() > 1);

        task.compact();

        assert_eq!(task, original);
        assert_eq!(variables(&task), 9);
        let reservations = &task.resources[0].reservations;
        assert_eq!(reservations.capacity(), 1);
        assert_eq!(
            reservations[0].labels.as_ref().unwrap().labels.capacity(),
            1
        );
    }
}
