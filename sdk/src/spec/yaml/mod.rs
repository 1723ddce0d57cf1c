//! YAML reading for specs: a small tree of nodes that keeps every position.
//!
//! The spec loader needs more than a typed deserializer gives: the exact text of
//! every scalar (dcos-commons reads `SLEEP_DURATION: 1000` into a string as
//! `"1000"`), the line and column of every key and value, and control over which
//! unknown keys are fatal. So the rendered `svc.yml` is parsed with the YAML parser
//! that serde-saphyr is built on (`serde_saphyr::granit_parser`) into a [`Node`]
//! tree; duplicate keys are rejected here, aliases are expanded (with a size
//! budget), and the spec decoder walks the tree.

mod node;

pub(crate) use node::{Entry, Node, NodeValue, YamlError, parse_document};
