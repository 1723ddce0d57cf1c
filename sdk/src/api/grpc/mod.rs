//! The gRPC face of the operator API: package `plinth.operator.v1`
//! (`sdk/api-proto/plinth/operator/v1/operator.proto`), services
//! `PlanService`, `PodService` and `SchedulerService` with the same
//! operations as REST (same snapshot, same commands), plus the
//! server-streaming `WatchPlan`; server reflection (v1 and v1alpha) lists
//! them. Merged into the REST router by [`routes`], so one port serves both.

mod convert;
mod plans;
mod pods;
mod scheduler;

use tonic::service::Routes;

use super::{ApiError, ApiState};

/// Generated messages, servers and clients.
#[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
pub mod proto {
    tonic::include_proto!("plinth.operator.v1");

    /// The encoded descriptor set of the operator protos (for reflection).
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/plinth_operator_v1.fds"));
}

impl From<ApiError> for tonic::Status {
    fn from(e: ApiError) -> Self {
        let code = match e.status.as_u16() {
            400 => tonic::Code::InvalidArgument,
            401 => tonic::Code::Unauthenticated,
            404 => tonic::Code::NotFound,
            409 => tonic::Code::FailedPrecondition,
            501 => tonic::Code::Unimplemented,
            503 => tonic::Code::Unavailable,
            _ => tonic::Code::Internal,
        };
        tonic::Status::new(code, e.message)
    }
}

/// The gRPC services and reflection, ready to merge into an axum router
/// (`Routes::into_axum_router`).
pub fn routes(state: ApiState) -> Routes {
    let mut routes = Routes::new(proto::plan_service_server::PlanServiceServer::new(
        plans::Plans::new(state.clone()),
    ))
    .add_service(proto::pod_service_server::PodServiceServer::new(
        pods::Pods::new(state.clone()),
    ))
    .add_service(
        proto::scheduler_service_server::SchedulerServiceServer::new(
            scheduler::SchedulerInfo::new(state),
        ),
    );
    let builder = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
    };
    match builder().build_v1() {
        Ok(svc) => routes = routes.add_service(svc),
        Err(e) => tracing::error!(error = %e, "gRPC reflection (v1) unavailable"),
    }
    match builder().build_v1alpha() {
        Ok(svc) => routes = routes.add_service(svc),
        Err(e) => tracing::error!(error = %e, "gRPC reflection (v1alpha) unavailable"),
    }
    routes
}
