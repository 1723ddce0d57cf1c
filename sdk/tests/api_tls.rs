//! The operator API over TLS (`--api-tls-cert`/`--api-tls-key`): REST over
//! HTTPS with the auth layer in front. The certificate is made with the
//! `openssl` command; without it the test is skipped.

mod api;

use std::sync::Arc;

use api::{fake, snapshot, with_token};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty};
use hyper_util::rt::TokioIo;
use plinth::api::{ApiServer, TlsFiles};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

/// A CA and a `localhost` certificate it signed: (server files, CA file).
fn certificates(dir: &std::path::Path) -> Option<(TlsFiles, std::path::PathBuf)> {
    let run = |args: &[&str]| {
        std::process::Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .ok()?;
    let ok = run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=test-ca",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]) && run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "key.pem",
        "-out",
        "leaf.csr",
    ]) && run(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "ext.cnf",
        "-out",
        "cert.pem",
    ]);
    ok.then(|| {
        (
            TlsFiles {
                cert: dir.join("cert.pem"),
                key: dir.join("key.pem"),
            },
            dir.join("ca.pem"),
        )
    })
}

async fn get(
    addr: std::net::SocketAddr,
    ca: &std::path::Path,
    method: &str,
    path: &str,
) -> (u16, String) {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let tls = TlsConnector::from(Arc::new(config))
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .unwrap();
    tokio::spawn(conn);
    let request = http::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost")
        .body(Empty::<Bytes>::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn rest_over_tls_with_auth() {
    let dir = tempfile::tempdir().unwrap();
    let Some((files, ca)) = certificates(dir.path()) else {
        eprintln!("skipped: no openssl to make a certificate");
        return;
    };
    let (state, received, _) = fake(snapshot());
    let mut options = with_token(false);
    options.tls = Some(files.clone());
    let server = ApiServer::new(state, &options).unwrap();
    assert!(server.is_tls());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(server.serve(listener, std::future::pending()));
    let (status, body) = get(addr, &ca, "GET", "/v1/plans").await;
    assert_eq!((status, body.as_str()), (200, r#"["deploy","recovery"]"#));
    let (status, body) = get(addr, &ca, "POST", "/v1/pod/hello-0/restart").await;
    assert_eq!(status, 401, "{body}");
    assert!(received.all().is_empty());
    // A plain-text client gets no answer from the TLS port.
    let plain = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(plain))
            .await
            .unwrap();
    tokio::spawn(conn);
    let request = http::Request::get("/v1/plans")
        .header("host", "x")
        .body(Empty::new())
        .unwrap();
    let answer = tokio::time::timeout(
        std::time::Duration::from_secs(15),
        sender.send_request(request),
    )
    .await;
    assert!(
        matches!(answer, Ok(Err(_))),
        "plain HTTP must fail on the TLS port"
    );
}
