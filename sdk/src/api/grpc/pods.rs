//! `PodService`: pods from the snapshot; restart, replace, pause and resume
//! as commands.

use tonic::{Request, Response, Status};

use super::convert;
use super::proto;
use super::proto::pod_service_server::PodService;
use crate::api::pods::pod_tasks;
use crate::api::{ApiError, ApiState, pod_names, pod_status, pod_statuses};
use crate::scheduler::{Command, CommandReply};

/// The `PodService` implementation.
#[derive(Debug, Clone)]
pub(super) struct Pods {
    state: ApiState,
}

impl Pods {
    pub(super) fn new(state: ApiState) -> Self {
        Self { state }
    }

    async fn run(&self, command: Command) -> Result<Response<proto::PodCommandResponse>, Status> {
        match self.state.command(command).await {
            Ok(CommandReply::Pod { pod, tasks }) => {
                Ok(Response::new(proto::PodCommandResponse { pod, tasks }))
            }
            Ok(_) => Err(Status::internal("unexpected answer")),
            Err(e) => Err(ApiError::from(e).into()),
        }
    }
}

fn not_found(name: &str) -> Status {
    Status::not_found(format!("Pod {name} not found"))
}

#[tonic::async_trait]
impl PodService for Pods {
    async fn list_pods(
        &self,
        _request: Request<proto::ListPodsRequest>,
    ) -> Result<Response<proto::ListPodsResponse>, Status> {
        Ok(Response::new(proto::ListPodsResponse {
            pods: pod_names(&self.state.current()),
        }))
    }

    async fn get_pod_statuses(
        &self,
        _request: Request<proto::GetPodStatusesRequest>,
    ) -> Result<Response<proto::PodStatuses>, Status> {
        let view = pod_statuses(&self.state.current());
        Ok(Response::new(proto::PodStatuses {
            service: view.service,
            pods: view
                .pods
                .into_iter()
                .map(|t| proto::PodType {
                    name: t.name,
                    instances: t.instances.into_iter().map(convert::pod_status).collect(),
                })
                .collect(),
        }))
    }

    async fn get_pod_status(
        &self,
        request: Request<proto::PodRequest>,
    ) -> Result<Response<proto::PodStatus>, Status> {
        let name = request.into_inner().name;
        let view = pod_status(&self.state.current(), &name).ok_or_else(|| not_found(&name))?;
        Ok(Response::new(convert::pod_status(view)))
    }

    async fn get_pod_info(
        &self,
        request: Request<proto::PodRequest>,
    ) -> Result<Response<proto::PodInfo>, Status> {
        let name = request.into_inner().name;
        let snapshot = self.state.current();
        let tasks = pod_tasks(&snapshot, &name).ok_or_else(|| not_found(&name))?;
        Ok(Response::new(proto::PodInfo {
            tasks: tasks
                .into_iter()
                .map(convert::task_info_and_status)
                .collect(),
            name,
        }))
    }

    async fn restart_pod(
        &self,
        request: Request<proto::PodRequest>,
    ) -> Result<Response<proto::PodCommandResponse>, Status> {
        self.run(Command::RestartPod(request.into_inner().name))
            .await
    }

    async fn replace_pod(
        &self,
        request: Request<proto::PodRequest>,
    ) -> Result<Response<proto::PodCommandResponse>, Status> {
        self.run(Command::ReplacePod(request.into_inner().name))
            .await
    }

    async fn pause_pod(
        &self,
        request: Request<proto::PodTasksRequest>,
    ) -> Result<Response<proto::PodCommandResponse>, Status> {
        let proto::PodTasksRequest { name, tasks } = request.into_inner();
        self.run(Command::PausePod { pod: name, tasks }).await
    }

    async fn resume_pod(
        &self,
        request: Request<proto::PodTasksRequest>,
    ) -> Result<Response<proto::PodCommandResponse>, Status> {
        let proto::PodTasksRequest { name, tasks } = request.into_inner();
        self.run(Command::ResumePod { pod: name, tasks }).await
    }
}
