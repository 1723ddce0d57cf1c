//! Every real dcos-commons spec in `../shared/specs` loads with its `.env`, has no
//! unsupported features, and its report agrees with its `.expect.json` on every key
//! the expectation states. Skips (with a note) when `../shared` is not present.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

fn specs_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/specs");
    dir.is_dir().then_some(dir)
}

fn read_env(path: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.to_string()))
        .collect()
}

/// Every key of `expected` must be in `got` with an equal value (numbers compared
/// as floats); extra keys in `got` are fine.
fn compare(expected: &Value, got: &Value, path: &str, out: &mut Vec<String>) {
    match (expected, got) {
        (Value::Object(e), Value::Object(g)) => {
            for (k, v) in e {
                match g.get(k) {
                    Some(gv) => compare(v, gv, &format!("{path}.{k}"), out),
                    None => out.push(format!("{path}.{k}: missing, expected {v}")),
                }
            }
        }
        (Value::Array(e), Value::Array(g)) if e.len() == g.len() => {
            for (i, (a, b)) in e.iter().zip(g).enumerate() {
                compare(a, b, &format!("{path}[{i}]"), out);
            }
        }
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => {}
        (e, g) if e == g => {}
        (e, g) => out.push(format!("{path}: expected {e}, got {g}")),
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = entry.path();
        if p.is_dir() {
            walk(&p, out);
        } else if p.to_string_lossy().ends_with(".expect.json") {
            out.push(p);
        }
    }
}

#[test]
fn corpus_specs_match_their_expectations() {
    let Some(dir) = specs_dir() else {
        println!("note: ../shared/specs not found; skipping the spec corpus check");
        return;
    };
    let mut expects = Vec::new();
    walk(&dir, &mut expects);
    expects.sort();
    assert!(
        !expects.is_empty(),
        "no .expect.json files under {}",
        dir.display()
    );
    let mut failures = Vec::new();
    for exp_path in &expects {
        let base = exp_path
            .to_string_lossy()
            .trim_end_matches(".expect.json")
            .to_string();
        let name = Path::new(&base)
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let env = read_env(Path::new(&format!("{base}.env")));
        let mut expected: Value =
            serde_json::from_str(&std::fs::read_to_string(exp_path).expect("read expect"))
                .expect("expect json");
        if let Value::Object(m) = &mut expected {
            for k in ["source", "notes", "spec"] {
                m.remove(k);
            }
        }
        let loaded = match plinth::spec::load_file(Path::new(&format!("{base}.yml")), &env) {
            Ok(l) => l,
            Err(e) => {
                failures.push(format!("{name}: does not load:\n{e}"));
                continue;
            }
        };
        if !loaded.unsupported.is_empty() {
            failures.push(format!(
                "{name}: unsupported features: {:?}",
                loaded.unsupported
            ));
        }
        let got = serde_json::to_value(plinth::spec::report::describe(&loaded, &env))
            .expect("report json");
        let mut diffs = Vec::new();
        compare(&expected, &got, "", &mut diffs);
        if !diffs.is_empty() {
            failures.push(format!(
                "{name}:\n  {}",
                diffs
                    .iter()
                    .take(10)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("\n  ")
            ));
        }
    }
    println!(
        "spec corpus: {}/{} specs match",
        expects.len() - failures.len(),
        expects.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
