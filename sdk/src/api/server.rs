//! Serving the API: REST and gRPC on one listener, plain (HTTP/1.1 and
//! HTTP/2 prior knowledge, so gRPC clients connect without TLS) or over TLS
//! (ALPN `h2` and `http/1.1`).

use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;
use tokio_rustls::rustls::ServerConfig;

use super::{ApiOptions, ApiState, app, tls};

/// Why the API cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The TLS certificate or key could not be loaded.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
}

/// The API, ready to serve on a listener.
#[derive(Debug)]
pub struct ApiServer {
    app: Router,
    tls: Option<Arc<ServerConfig>>,
}

impl ApiServer {
    /// The full API (REST, gRPC, reflection, auth) over `state`; loads the
    /// TLS material when `options` names it.
    ///
    /// # Errors
    /// [`ServeError::Tls`] when the certificate or key cannot be read.
    pub fn new(state: ApiState, options: &ApiOptions) -> Result<Self, ServeError> {
        let tls = match &options.tls {
            Some(files) => Some(Arc::new(tls::server_config(files)?)),
            None => None,
        };
        Ok(Self {
            app: app(state, options),
            tls,
        })
    }

    /// Whether the API is served over TLS.
    #[must_use]
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Serves until `shutdown` resolves.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) {
        match self.tls {
            Some(config) => tls::serve(listener, config, self.app, shutdown).await,
            None => {
                if let Err(e) = axum::serve(listener, self.app)
                    .with_graceful_shutdown(shutdown)
                    .await
                {
                    tracing::error!(error = %e, "operator API stopped");
                }
            }
        }
    }
}
