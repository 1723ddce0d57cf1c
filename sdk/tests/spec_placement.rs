//! Property: placement evaluation agrees with a brute-force reference on random
//! clusters, for every operator and field.

use std::collections::BTreeMap;

use plinth::placement::{AgentFacts, PlacedTask, parse};
use proptest::prelude::*;

const FIELDS: &[&str] = &["hostname", "@hostname", "@zone", "@region", "rack"];
const OPS: &[&str] = &[
    "UNIQUE", "CLUSTER", "IS", "IS_NOT", "LIKE", "UNLIKE", "GROUP_BY", "MAX_PER", "group_by",
    "unique",
];
const VALUES: &[&str] = &[
    "h0", "h1", "z0", "z1", "r0", "r1", "h[0-1]", "z.*", "r[12]", "1", "2", "3",
];

fn agent() -> impl Strategy<Value = AgentFacts> {
    (
        0usize..4,
        prop::option::of(0usize..3),
        prop::option::of(0usize..2),
        prop::option::of(0usize..3),
    )
        .prop_map(|(h, z, r, rack)| AgentFacts {
            hostname: format!("h{h}"),
            zone: z.map(|z| format!("z{z}")),
            region: r.map(|r| format!("r{r}")),
            attributes: rack
                .map(|k| BTreeMap::from([("rack".to_string(), format!("r{k}"))]))
                .unwrap_or_default(),
        })
}

fn row() -> impl Strategy<Value = (String, String, Option<String>)> {
    (
        prop::sample::select(FIELDS),
        prop::sample::select(OPS),
        prop::option::of(prop::sample::select(VALUES)),
    )
        .prop_map(|(f, o, v)| {
            let op = o.to_ascii_uppercase();
            // Give value-taking operators a value they can parse.
            let v = match op.as_str() {
                "UNIQUE" => None,
                "MAX_PER" => Some(
                    v.filter(|x| x.parse::<u32>().is_ok())
                        .unwrap_or("2")
                        .to_string(),
                ),
                "GROUP_BY" => v.filter(|x| x.parse::<u32>().is_ok()).map(str::to_string),
                _ => Some(v.unwrap_or("h0").to_string()),
            };
            (f.to_string(), o.to_string(), v)
        })
}

fn value<'a>(a: &'a AgentFacts, field: &str) -> Option<&'a str> {
    match field {
        "hostname" | "@hostname" => Some(a.hostname.as_str()),
        "@zone" => a.zone.as_deref(),
        "@region" => a.region.as_deref(),
        other => a.attributes.get(other).map(String::as_str),
    }
}

fn full_match(pattern: &str, v: &str) -> bool {
    regex::Regex::new(&format!("^(?:{pattern})$")).is_ok_and(|r| r.is_match(v))
}

/// The reference: each operator written out from its description, with plain loops.
fn reference(
    rows: &[(String, String, Option<String>)],
    a: &AgentFacts,
    pod: &str,
    index: u32,
    placed: &[PlacedTask],
) -> bool {
    let mut peers = Vec::new();
    for t in placed {
        if t.pod_type == pod && t.pod_index != index {
            peers.push(t);
        }
    }
    for (field, op, val) in rows {
        let here = value(a, field);
        let is_attr = !matches!(
            field.as_str(),
            "hostname" | "@hostname" | "@zone" | "@region"
        );
        let ok = match op.to_ascii_uppercase().as_str() {
            "CLUSTER" | "IS" => here == val.as_deref(),
            "IS_NOT" => here.is_some() && here != val.as_deref(),
            "LIKE" => here.is_some_and(|h| full_match(val.as_deref().unwrap_or(""), h)),
            "UNLIKE" => !here.is_some_and(|h| full_match(val.as_deref().unwrap_or(""), h)),
            "UNIQUE" | "MAX_PER" => {
                let max: usize = val.as_deref().map_or(1, |v| v.parse().unwrap_or(0));
                match here {
                    None => !is_attr,
                    Some(h) => {
                        let mut n = 0;
                        for p in &peers {
                            if value(&p.agent, field) == Some(h) {
                                n += 1;
                            }
                        }
                        n < max
                    }
                }
            }
            "GROUP_BY" => match here {
                None => false,
                Some(h) => {
                    // Tally tasks per known value.
                    let mut values: Vec<(&str, usize)> = Vec::new();
                    for p in &peers {
                        if let Some(v) = value(&p.agent, field) {
                            match values.iter_mut().find(|(k, _)| *k == v) {
                                Some(e) => e.1 += 1,
                                None => values.push((v, 1)),
                            }
                        }
                    }
                    let mine = values.iter().find(|(k, _)| *k == h).map_or(0, |e| e.1);
                    let lowest = values.iter().map(|e| e.1).min().unwrap_or(0);
                    let highest = values.iter().map(|e| e.1).max().unwrap_or(0);
                    let balanced_or_lowest = lowest == highest || mine <= lowest;
                    let all_values_known = val
                        .as_deref()
                        .map(|n| values.len() >= n.parse::<usize>().unwrap_or(usize::MAX));
                    balanced_or_lowest && (all_values_known.unwrap_or(true) || mine == 0)
                }
            },
            _ => unreachable!("generator only makes known operators"),
        };
        if !ok {
            return false;
        }
    }
    true
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn evaluation_agrees_with_brute_force(
        rows in prop::collection::vec(row(), 1..4),
        agents in prop::collection::vec(agent(), 1..6),
        placed in prop::collection::vec((prop::sample::select(&["a", "b", "ab"][..]), 0u32..4, 0usize..6), 0..10),
        index in 0u32..4,
    ) {
        let json: Vec<Vec<String>> = rows
            .iter()
            .map(|(f, o, v)| {
                let mut r = vec![f.clone(), o.clone()];
                r.extend(v.clone());
                r
            })
            .collect();
        let text = serde_json::to_string(&json).unwrap();
        let constraint = parse(&text).unwrap().unwrap();
        let placed: Vec<PlacedTask> = placed
            .iter()
            .map(|(pod, i, ai)| PlacedTask::new(*pod, *i, agents[ai % agents.len()].clone()))
            .collect();
        for a in &agents {
            let got = constraint.evaluate(a, "a", index, &placed);
            let want = reference(&rows, a, "a", index, &placed);
            prop_assert_eq!(got.passed, want, "{} on {:?}: {:?}", text, a, got.reasons);
            prop_assert_eq!(got.reasons.len(), rows.len());
        }
    }

    #[test]
    fn string_and_json_syntaxes_agree(rows in prop::collection::vec(row(), 1..4), a in agent()) {
        let json: Vec<Vec<String>> = rows.iter().map(|(f, o, v)| {
            let mut r = vec![f.clone(), o.clone()];
            r.extend(v.clone());
            r
        }).collect();
        let colon = json
            .iter()
            .map(|r| r.iter().map(|c| c.replace(',', "\\,").replace(':', "\\:")).collect::<Vec<_>>().join(":"))
            .collect::<Vec<_>>()
            .join(",");
        let from_json = parse(&serde_json::to_string(&json).unwrap()).unwrap().unwrap();
        let from_colon = parse(&colon).unwrap().unwrap();
        prop_assert_eq!(&from_json.rows, &from_colon.rows);
        prop_assert_eq!(from_json.evaluate(&a, "a", 0, &[]).passed, from_colon.evaluate(&a, "a", 0, &[]).passed);
    }
}
