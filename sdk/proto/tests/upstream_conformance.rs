//! Checks our hand-written Mesos v1 protos against the upstream Mesos protos.
//!
//! Every message, field, oneof membership and enum value that we declare must
//! exist upstream under the same full name, in the same file, with the same
//! number, label, type (including the referenced message or enum) and default.
//! We may declare less than upstream, never something different.
//!
//! The upstream protos live in `shared/mesos/protos` beside the workspace. When
//! that directory is absent the upstream tests print a notice and pass, so the
//! crate's tests also run from a bare checkout.

use std::path::{Path, PathBuf};

use prost::Message as _;
use prost_reflect::{
    Cardinality, DescriptorPool, EnumDescriptor, FieldDescriptor, Kind, MessageDescriptor,
};
use prost_types::{
    DescriptorProto, EnumDescriptorProto, EnumValueDescriptorProto, FieldDescriptorProto,
    FileDescriptorProto, FileDescriptorSet,
    field_descriptor_proto::{Label, Type},
};

// === comparison ===

/// What a comparison looked at, and everything that differed.
#[derive(Debug, Default)]
struct Report {
    messages: usize,
    fields: usize,
    enums: usize,
    enum_values: usize,
    mismatches: Vec<String>,
}

impl Report {
    fn mismatch(&mut self, what: String) {
        self.mismatches.push(what);
    }
}

/// Compares every message and enum declared in `ours` with the same-named
/// one in `upstream`. Definitions that only upstream has are ignored.
fn compare_pools(ours: &DescriptorPool, upstream: &DescriptorPool) -> Report {
    let mut report = Report::default();

    for message in ours.all_messages() {
        report.messages += 1;
        match upstream.get_message_by_name(message.full_name()) {
            Some(theirs) => compare_message(&message, &theirs, &mut report),
            None => report.mismatch(format!(
                "message {} does not exist upstream",
                message.full_name()
            )),
        }
    }

    for enumeration in ours.all_enums() {
        report.enums += 1;
        match upstream.get_enum_by_name(enumeration.full_name()) {
            Some(theirs) => compare_enum(&enumeration, &theirs, &mut report),
            None => report.mismatch(format!(
                "enum {} does not exist upstream",
                enumeration.full_name()
            )),
        }
    }

    report
}

fn compare_message(ours: &MessageDescriptor, theirs: &MessageDescriptor, report: &mut Report) {
    let name = ours.full_name();
    if ours.parent_file().name() != theirs.parent_file().name() {
        report.mismatch(format!(
            "message {name}: declared in {} but upstream declares it in {}",
            ours.parent_file().name(),
            theirs.parent_file().name()
        ));
    }
    if ours.is_map_entry() != theirs.is_map_entry() {
        report.mismatch(format!(
            "message {name}: map entry is {} here, {} upstream",
            ours.is_map_entry(),
            theirs.is_map_entry()
        ));
    }

    for field in ours.fields() {
        report.fields += 1;
        let Some(upstream_field) = theirs.get_field_by_name(field.name()) else {
            report.mismatch(format!(
                "field {}: no field of that name upstream",
                field.full_name()
            ));
            continue;
        };
        compare_field(&field, &upstream_field, report);
    }
}

fn compare_field(ours: &FieldDescriptor, theirs: &FieldDescriptor, report: &mut Report) {
    let name = ours.full_name();
    let mut differs = |what: &str, here: String, there: String| {
        if here != there {
            report.mismatch(format!(
                "field {name}: {what} is {here} here, {there} upstream"
            ));
        }
    };

    differs(
        "number",
        ours.number().to_string(),
        theirs.number().to_string(),
    );
    differs("label", cardinality(ours), cardinality(theirs));
    differs("type", kind_name(&ours.kind()), kind_name(&theirs.kind()));
    differs(
        "default",
        format!("{:?}", ours.field_descriptor_proto().default_value),
        format!("{:?}", theirs.field_descriptor_proto().default_value),
    );
    differs(
        "oneof",
        format!("{:?}", ours.containing_oneof().map(|o| o.name().to_owned())),
        format!(
            "{:?}",
            theirs.containing_oneof().map(|o| o.name().to_owned())
        ),
    );
    differs(
        "packed",
        ours.is_packed().to_string(),
        theirs.is_packed().to_string(),
    );
}

fn compare_enum(ours: &EnumDescriptor, theirs: &EnumDescriptor, report: &mut Report) {
    let name = ours.full_name();
    if ours.parent_file().name() != theirs.parent_file().name() {
        report.mismatch(format!(
            "enum {name}: declared in {} but upstream declares it in {}",
            ours.parent_file().name(),
            theirs.parent_file().name()
        ));
    }
    for value in ours.values() {
        report.enum_values += 1;
        match theirs.get_value_by_name(value.name()) {
            Some(upstream_value) if upstream_value.number() == value.number() => {}
            Some(upstream_value) => report.mismatch(format!(
                "enum value {name}.{}: number is {} here, {} upstream",
                value.name(),
                value.number(),
                upstream_value.number()
            )),
            None => report.mismatch(format!(
                "enum value {name}.{}: no value of that name upstream",
                value.name()
            )),
        }
    }
}

fn cardinality(field: &FieldDescriptor) -> String {
    match field.cardinality() {
        Cardinality::Optional => "optional",
        Cardinality::Required => "required",
        Cardinality::Repeated => "repeated",
    }
    .to_owned()
}

fn kind_name(kind: &Kind) -> String {
    match kind {
        Kind::Message(message) => format!("message {}", message.full_name()),
        Kind::Enum(enumeration) => format!("enum {}", enumeration.full_name()),
        scalar => format!("{scalar:?}").to_lowercase(),
    }
}

// === loading the two pools ===

fn our_pool() -> DescriptorPool {
    DescriptorPool::decode(plinth_proto::FILE_DESCRIPTOR_SET)
        .expect("FILE_DESCRIPTOR_SET decodes into a descriptor pool")
}

fn upstream_include_dir() -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/mesos/protos/include"
    ))
    .to_path_buf()
}

/// The upstream pool, or `None` (with a notice) when the protos are absent.
fn upstream_pool() -> Option<DescriptorPool> {
    let include = upstream_include_dir();
    if !include.join("mesos/v1/scheduler/scheduler.proto").is_file() {
        eprintln!(
            "upstream conformance check skipped: no upstream Mesos protos at {}",
            include.display()
        );
        return None;
    }
    let fds = protox::compile(
        ["mesos/v1/scheduler/scheduler.proto", "mesos/v1/mesos.proto"],
        [&include],
    )
    .unwrap_or_else(|error| {
        panic!(
            "compiling the upstream protos in {}: {error:?}",
            include.display()
        )
    });
    Some(
        DescriptorPool::from_file_descriptor_set(fds)
            .expect("upstream protos form a valid descriptor pool"),
    )
}

// === tests ===

#[test]
fn our_protos_match_upstream() {
    let Some(upstream) = upstream_pool() else {
        return;
    };
    let report = compare_pools(&our_pool(), &upstream);
    eprintln!(
        "compared {} messages ({} fields) and {} enums ({} values) with upstream",
        report.messages, report.fields, report.enums, report.enum_values
    );
    assert!(
        report.mismatches.is_empty(),
        "{} difference(s) from the upstream Mesos protos:\n  {}",
        report.mismatches.len(),
        report.mismatches.join("\n  ")
    );
}

#[test]
fn conformance_check_compares_something() {
    let Some(upstream) = upstream_pool() else {
        return;
    };
    let ours = our_pool();
    let report = compare_pools(&ours, &upstream);
    assert!(report.messages > 0, "no messages were compared");
    assert!(report.fields > 0, "no fields were compared");
    assert!(report.enum_values > 0, "no enum values were compared");
    for name in [
        "mesos.v1.scheduler.Call",
        "mesos.v1.scheduler.Event",
        "mesos.v1.TaskInfo",
        "mesos.v1.Offer",
    ] {
        assert!(
            ours.get_message_by_name(name).is_some(),
            "{name} is missing from our protos"
        );
    }
}

#[test]
fn every_type_reachable_from_call_and_event_is_declared() {
    // protox already refuses unresolved references; this guards the roots.
    let ours = our_pool();
    assert!(
        ours.get_message_by_name("mesos.v1.scheduler.Call")
            .is_some()
    );
    assert!(
        ours.get_message_by_name("mesos.v1.scheduler.Event")
            .is_some()
    );
    assert!(ours.all_messages().count() > 100);
}

// --- the comparison itself must notice differences ---

fn field(name: &str, number: i32, label: Label, r#type: Type) -> FieldDescriptorProto {
    FieldDescriptorProto {
        name: Some(name.to_owned()),
        number: Some(number),
        label: Some(label as i32),
        r#type: Some(r#type as i32),
        ..Default::default()
    }
}

/// A one-file pool: `message Ping { required string value = <value_number>;
/// optional Kind kind = 2; }` plus `enum Kind { A = 0; B = <b_number>; }`.
fn tiny_pool(value_number: i32, b_number: i32) -> DescriptorPool {
    let mut kind = field("kind", 2, Label::Optional, Type::Enum);
    kind.type_name = Some(".tiny.Kind".to_owned());
    let value = |name: &str, number: i32| EnumValueDescriptorProto {
        name: Some(name.to_owned()),
        number: Some(number),
        ..Default::default()
    };
    let file = FileDescriptorProto {
        name: Some("tiny.proto".to_owned()),
        package: Some("tiny".to_owned()),
        syntax: Some("proto2".to_owned()),
        message_type: vec![DescriptorProto {
            name: Some("Ping".to_owned()),
            field: vec![
                field("value", value_number, Label::Required, Type::String),
                kind,
            ],
            ..Default::default()
        }],
        enum_type: vec![EnumDescriptorProto {
            name: Some("Kind".to_owned()),
            value: vec![value("A", 0), value("B", b_number)],
            ..Default::default()
        }],
        ..Default::default()
    };
    let set = FileDescriptorSet { file: vec![file] };
    DescriptorPool::decode(set.encode_to_vec().as_slice()).expect("tiny descriptor set is valid")
}

#[test]
fn identical_pools_have_no_mismatches() {
    let report = compare_pools(&tiny_pool(1, 1), &tiny_pool(1, 1));
    assert_eq!(
        (report.messages, report.fields, report.enum_values),
        (1, 2, 2)
    );
    assert!(report.mismatches.is_empty(), "{:?}", report.mismatches);
}

#[test]
fn a_different_field_number_is_reported() {
    let report = compare_pools(&tiny_pool(1, 1), &tiny_pool(3, 1));
    assert_eq!(
        report.mismatches,
        vec!["field tiny.Ping.value: number is 1 here, 3 upstream".to_owned()]
    );
}

#[test]
fn a_different_enum_value_number_is_reported() {
    let report = compare_pools(&tiny_pool(1, 1), &tiny_pool(1, 7));
    assert_eq!(
        report.mismatches,
        vec!["enum value tiny.Kind.B: number is 1 here, 7 upstream".to_owned()]
    );
}
