//! `/master/state` in the Mesos 1.11 shape: frameworks with tasks and
//! completed tasks, agents with resources, used, unreserved and reserved
//! resources (role → full resources, persistent volumes included).

mod common;

use common::{client, framework_info, master, next_event, raw, subscribed};
use plinth::mesos::calls;
use plinth_proto::codec::Encoding;
use plinth_proto::v1::framework_info::{Capability, capability};
use plinth_proto::v1::offer::{Operation, operation};
use plinth_proto::v1::resource::{DiskInfo, ReservationInfo, disk_info, reservation_info};
use plinth_proto::v1::{CommandInfo, Resource, TaskId, TaskInfo, Volume, value, volume};

fn reserved(name: &str, v: f64) -> Resource {
    Resource {
        name: name.into(),
        r#type: value::Type::Scalar as i32,
        scalar: Some(value::Scalar { value: v }),
        reservations: vec![ReservationInfo {
            r#type: Some(reservation_info::Type::Dynamic as i32),
            role: Some("test".into()),
            principal: Some("test-principal".into()),
            labels: None,
        }],
        ..Default::default()
    }
}

#[tokio::test]
async fn state_shows_frameworks_tasks_reservations_and_volumes() {
    let master = master().await;
    let mut info = framework_info("stateful");
    info.capabilities.push(Capability {
        r#type: Some(capability::Type::ReservationRefinement as i32),
    });
    let client = client(&master, info, Encoding::Json);
    let caller = client.caller();
    let mut events = client.subscribe();
    let fid = subscribed(&mut events).await;
    let offer = next_event(&mut events, |e| e.offers.is_some())
        .await
        .offers
        .unwrap()
        .offers
        .remove(0);
    let mut vol = reserved("disk", 50.0);
    vol.disk = Some(Box::new(DiskInfo {
        persistence: Some(disk_info::Persistence {
            id: "data-0".into(),
            principal: Some("test-principal".into()),
        }),
        volume: Some(Volume {
            container_path: "data".into(),
            mode: volume::Mode::Rw as i32,
            ..Default::default()
        }),
        source: None,
    }));
    let task = TaskInfo {
        name: "server".into(),
        task_id: TaskId {
            value: "server-0".into(),
        },
        agent_id: offer.agent_id.clone(),
        resources: vec![reserved("cpus", 1.0), reserved("mem", 256.0), vol.clone()],
        command: Some(CommandInfo {
            value: Some("sleep 100".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let ops = vec![
        Operation {
            r#type: Some(operation::Type::Reserve as i32),
            reserve: Some(operation::Reserve {
                resources: vec![
                    reserved("cpus", 1.0),
                    reserved("mem", 256.0),
                    reserved("disk", 50.0),
                ],
                source: vec![],
            }),
            ..Default::default()
        },
        Operation {
            r#type: Some(operation::Type::Create as i32),
            create: Some(operation::Create { volumes: vec![vol] }),
            ..Default::default()
        },
        calls::launch(vec![task]),
    ];
    caller
        .call(calls::accept(vec![offer.id.clone()], ops, None))
        .await
        .unwrap();
    next_event(&mut events, |e| e.update.is_some()).await;

    for path in ["/master/state", "/state", "/master/state.json"] {
        let r = raw(master.addr(), "GET", path, &[], b"").await;
        assert_eq!(r.status, 200, "{path}");
        let state: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        let fw = &state["frameworks"][0];
        assert_eq!(fw["id"], fid.as_str());
        assert_eq!(fw["name"], "stateful");
        assert_eq!(fw["active"], true);
        let t = &fw["tasks"][0];
        assert_eq!(t["id"], "server-0");
        assert_eq!(t["name"], "server");
        assert_eq!(t["slave_id"], offer.agent_id.value.as_str());
        assert_eq!(t["framework_id"], fid.as_str());
        assert_eq!(t["resources"]["cpus"], 1.0);
        assert!(
            matches!(
                t["state"].as_str(),
                Some("TASK_STAGING" | "TASK_STARTING" | "TASK_RUNNING")
            ),
            "{t}"
        );
        assert!(t["statuses"].is_array());
        assert!(fw["completed_tasks"].as_array().unwrap().is_empty());

        let slave = state["slaves"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == offer.agent_id.value)
            .unwrap();
        assert_eq!(slave["hostname"], offer.hostname.as_str());
        assert_eq!(slave["resources"]["cpus"], 4.0);
        assert_eq!(slave["used_resources"]["cpus"], 1.0);
        assert_eq!(slave["resources"]["ports"], "[31000-32000]");
        let unreserved = slave["unreserved_resources_full"].as_array().unwrap();
        let cpus = unreserved.iter().find(|r| r["name"] == "cpus").unwrap();
        assert_eq!(cpus["scalar"]["value"], 3.0);
        assert_eq!(cpus["role"], "*");
        let held = slave["reserved_resources_full"]["test"].as_array().unwrap();
        assert_eq!(held.len(), 3, "cpus, mem and the volume: {held:?}");
        let v = held.iter().find(|r| r["disk"].is_object()).unwrap();
        assert_eq!(v["disk"]["persistence"]["id"], "data-0");
        assert_eq!(v["disk"]["volume"]["container_path"], "data");
        assert_eq!(v["reservations"][0]["role"], "test");
        assert_eq!(
            v["role"], "test",
            "single reservations also in the pre-refinement format"
        );
    }
    master.shutdown().await;
}
