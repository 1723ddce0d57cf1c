//! `SchedulerService`: endpoints, configurations, state, health and offer
//! outcomes, all from the snapshot.

use tonic::{Request, Response, Status};

use super::convert;
use super::proto;
use super::proto::scheduler_service_server::SchedulerService;
use crate::api::configs::{configuration, target_of};
use crate::api::health::health;
use crate::api::{ApiState, endpoints_of};

/// The `SchedulerService` implementation.
#[derive(Debug, Clone)]
pub(super) struct SchedulerInfo {
    state: ApiState,
}

impl SchedulerInfo {
    pub(super) fn new(state: ApiState) -> Self {
        Self { state }
    }
}

#[tonic::async_trait]
impl SchedulerService for SchedulerInfo {
    async fn list_endpoints(
        &self,
        _request: Request<proto::ListEndpointsRequest>,
    ) -> Result<Response<proto::ListEndpointsResponse>, Status> {
        let endpoints = endpoints_of(&self.state.current()).into_keys().collect();
        Ok(Response::new(proto::ListEndpointsResponse { endpoints }))
    }

    async fn get_endpoint(
        &self,
        request: Request<proto::GetEndpointRequest>,
    ) -> Result<Response<proto::Endpoint>, Status> {
        let name = request.into_inner().name;
        let view = endpoints_of(&self.state.current())
            .remove(&name)
            .ok_or_else(|| Status::not_found(format!("Endpoint {name} not found")))?;
        Ok(Response::new(proto::Endpoint {
            name,
            dns: view.dns,
            address: view.address,
            vip: view.vip.unwrap_or_default(),
        }))
    }

    async fn list_configurations(
        &self,
        _request: Request<proto::ListConfigurationsRequest>,
    ) -> Result<Response<proto::ListConfigurationsResponse>, Status> {
        let ids = self.state.current().configs.by_id.keys().cloned().collect();
        Ok(Response::new(proto::ListConfigurationsResponse { ids }))
    }

    async fn get_configuration(
        &self,
        request: Request<proto::GetConfigurationRequest>,
    ) -> Result<Response<proto::Configuration>, Status> {
        let id = request.into_inner().id;
        let snapshot = self.state.current();
        let config = configuration(&snapshot.configs, &id)?;
        Ok(Response::new(proto::Configuration {
            json: config.to_string(),
            id,
        }))
    }

    async fn get_target_configuration(
        &self,
        _request: Request<proto::GetTargetConfigurationRequest>,
    ) -> Result<Response<proto::Configuration>, Status> {
        let snapshot = self.state.current();
        let (id, config) = target_of(&snapshot.configs)?;
        Ok(Response::new(proto::Configuration {
            id: id.to_string(),
            json: config.to_string(),
        }))
    }

    async fn get_framework_id(
        &self,
        _request: Request<proto::GetFrameworkIdRequest>,
    ) -> Result<Response<proto::FrameworkIdResponse>, Status> {
        let framework_id = self
            .state
            .current()
            .framework_id
            .clone()
            .ok_or_else(|| Status::not_found("No framework ID exists"))?;
        Ok(Response::new(proto::FrameworkIdResponse { framework_id }))
    }

    async fn list_properties(
        &self,
        _request: Request<proto::ListPropertiesRequest>,
    ) -> Result<Response<proto::ListPropertiesResponse>, Status> {
        let keys = self.state.current().properties.keys().cloned().collect();
        Ok(Response::new(proto::ListPropertiesResponse { keys }))
    }

    async fn get_property(
        &self,
        request: Request<proto::GetPropertyRequest>,
    ) -> Result<Response<proto::Property>, Status> {
        let key = request.into_inner().key;
        let value = self
            .state
            .current()
            .properties
            .get(&key)
            .map(|v| v.to_vec())
            .ok_or_else(|| Status::not_found(format!("Property {key} not found")))?;
        Ok(Response::new(proto::Property { key, value }))
    }

    async fn get_health(
        &self,
        _request: Request<proto::GetHealthRequest>,
    ) -> Result<Response<proto::Health>, Status> {
        let h = health(&self.state.current());
        Ok(Response::new(proto::Health {
            code: i32::from(h.value),
            reasons: h.reasons,
        }))
    }

    async fn get_offer_outcomes(
        &self,
        _request: Request<proto::GetOfferOutcomesRequest>,
    ) -> Result<Response<proto::OfferOutcomes>, Status> {
        let outcomes = self
            .state
            .current()
            .outcomes
            .iter()
            .map(convert::outcome)
            .collect();
        Ok(Response::new(proto::OfferOutcomes { outcomes }))
    }
}
