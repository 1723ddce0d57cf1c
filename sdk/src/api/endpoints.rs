//! `/v1/endpoints`: the advertised ports of the stored tasks, grouped by
//! port name, as dcos-commons lists them (`dns`: the autoip name, `address`:
//! the task's IP or agent hostname, `vip`: the L4LB name when the port has
//! one).

use std::collections::BTreeMap;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use plinth_proto::v1::discovery_info::Visibility;
use serde::Serialize;

use super::{ApiError, ApiState, ServiceSnapshot};
use crate::offer::labels;

pub(super) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/v1/endpoints", get(list))
        .route("/v1/endpoints/{name}", get(show))
}

/// One endpoint: every task address advertising a port of this name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct EndpointView {
    /// `<task>.<service>.autoip.dcos.thisdcos.directory:<port>`.
    pub dns: Vec<String>,
    /// `<ip or host>:<port>`.
    pub address: Vec<String>,
    /// `<prefix>.<service>.l4lb.thisdcos.directory:<port>`, when the port has a VIP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vip: Option<String>,
}

/// Every endpoint by port name.
#[must_use]
pub fn endpoints_of(snapshot: &ServiceSnapshot) -> BTreeMap<String, EndpointView> {
    let service = snapshot.service.trim_start_matches('/').replace('/', "");
    let mut out: BTreeMap<String, EndpointView> = BTreeMap::new();
    for task in &snapshot.tasks {
        let Some(discovery) = &task.info.discovery else {
            continue;
        };
        let host = task_ips(task.status.as_ref())
            .or_else(|| labels::task_label(&task.info, labels::OFFER_HOSTNAME).map(str::to_string))
            .unwrap_or_default();
        let autoip = discovery
            .name
            .clone()
            .unwrap_or_else(|| task.info.name.clone());
        for port in discovery.ports.iter().flat_map(|p| p.ports.iter()) {
            let Some(name) = port.name.as_deref().filter(|n| !n.is_empty()) else {
                continue;
            };
            if port.visibility != Some(Visibility::External as i32) {
                continue;
            }
            let entry = out.entry(name.to_string()).or_default();
            entry.dns.push(format!(
                "{autoip}.{service}.autoip.dcos.thisdcos.directory:{}",
                port.number
            ));
            entry.address.push(format!("{host}:{}", port.number));
            let vip = port
                .labels
                .iter()
                .flat_map(|l| l.labels.iter())
                .filter(|l| l.key.starts_with("VIP_"))
                .find_map(|l| l.value.as_deref());
            if let Some((prefix, vip_port)) = vip.and_then(|v| v.rsplit_once(':')) {
                entry.vip = Some(format!(
                    "{prefix}.{service}.l4lb.thisdcos.directory:{vip_port}"
                ));
            }
        }
    }
    out
}

/// The IP addresses of a status's container network, one string.
fn task_ips(status: Option<&plinth_proto::v1::TaskStatus>) -> Option<String> {
    let ips: Vec<&str> = status?
        .container_status
        .as_ref()?
        .network_infos
        .iter()
        .flat_map(|n| n.ip_addresses.iter())
        .filter_map(|ip| ip.ip_address.as_deref())
        .collect();
    match ips.as_slice() {
        [] => None,
        [one] => Some((*one).to_string()),
        many => Some(format!("[{}]", many.join(", "))),
    }
}

async fn list(State(state): State<ApiState>) -> Response {
    let names: Vec<String> = endpoints_of(&state.current()).into_keys().collect();
    Json(names).into_response()
}

async fn show(State(state): State<ApiState>, Path(name): Path<String>) -> Response {
    match endpoints_of(&state.current()).remove(&name) {
        Some(view) => Json(view).into_response(),
        None => ApiError::not_found(format!("Endpoint {name} not found")).into_response(),
    }
}
