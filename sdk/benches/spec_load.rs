//! Loading and validating a spec with 100 pod types (mustache render, YAML,
//! decoding, validation, plan resolution).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use criterion::{Criterion, criterion_group, criterion_main};

fn big_spec(pods: usize) -> String {
    let mut s = String::from(
        "name: {{FRAMEWORK_NAME}}\nscheduler:\n  principal: {{PRINCIPAL}}\n  user: nobody\npods:\n",
    );
    for i in 0..pods {
        let _ = write!(
            s,
            "  pod{i}:
    count: {{{{COUNT}}}}
    placement: '{{{{{{PLACEMENT}}}}}}'
    {{{{#ENABLE_URIS}}}}
    uris:
      - https://example.com/{i}.tgz
    {{{{/ENABLE_URIS}}}}
    resource-sets:
      shared-{i}:
        cpus: 0.5
        memory: 512
        ports:
          http-{i}:
            port: 0
            env-key: PORT_HTTP
            ranges:
              - begin: 1024
                end: 5000
        volume:
          path: data-{i}
          type: ROOT
          size: 1024
    tasks:
      server:
        goal: RUNNING
        cmd: ./run --id {i} && sleep $SLEEP
        resource-set: shared-{i}
        env:
          SLEEP: {{{{SLEEP}}}}
          NAME: pod{i}
        health-check:
          cmd: curl -f localhost:$PORT_HTTP/health
          interval: 5
          grace-period: 30
          max-consecutive-failures: 3
          delay: 0
          timeout: 10
        readiness-check:
          cmd: test -f data-{i}/ready
          interval: 5
          delay: 0
          timeout: 10
      sidecar:
        goal: ONCE
        cmd: echo sidecar {i}
        cpus: 0.1
        memory: 64
"
        );
    }
    s.push_str("plans:\n  deploy:\n    strategy: serial\n    phases:\n");
    for i in 0..pods {
        let _ = write!(
            s,
            "      phase-{i}:\n        strategy: parallel\n        pod: pod{i}\n        steps:\n          - default: [[server], [sidecar]]\n"
        );
    }
    s
}

fn bench(c: &mut Criterion) {
    let text = big_spec(100);
    let env: BTreeMap<String, String> = [
        ("FRAMEWORK_NAME", "bench"),
        ("PRINCIPAL", ""),
        ("COUNT", "3"),
        ("PLACEMENT", r#"[["hostname", "UNIQUE"]]"#),
        ("ENABLE_URIS", "true"),
        ("SLEEP", "1000"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let loaded =
        plinth::spec::load_str(&text, &env, Some("bench.yml")).expect("bench spec is valid");
    assert_eq!(loaded.spec.pods.len(), 100);
    c.bench_function("load+validate 100 pod types", |b| {
        b.iter(|| {
            let l = plinth::spec::load_str(std::hint::black_box(&text), &env, Some("bench.yml"))
                .expect("valid");
            std::hint::black_box(l.spec.deploy_step_names().len())
        });
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
