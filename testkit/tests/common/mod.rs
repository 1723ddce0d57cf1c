//! Helpers shared by the integration tests: a raw HTTP/1.1 client (so the
//! tests see exactly what goes over the wire) and SDK client plumbing.
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use futures::StreamExt as _;
use plinth::mesos::{ClientConfig, ClientEvent, SchedulerClient, Subscription};
use plinth_proto::codec::Encoding;
use plinth_proto::v1::FrameworkInfo;
use plinth_proto::v1::scheduler::Event;
use plinth_testkit::{MasterConfig, TestMaster};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;

/// Bound on anything a test waits for.
pub const WAIT: Duration = Duration::from_secs(10);

/// A master for tests: fast heartbeats and allocation, 2 agents.
pub async fn master() -> TestMaster {
    master_with(|_| {}).await
}

pub async fn master_with(f: impl FnOnce(&mut MasterConfig)) -> TestMaster {
    let mut config = MasterConfig {
        agents: 2,
        heartbeat_interval: Duration::from_millis(300),
        allocation_interval: Duration::from_millis(20),
        update_retry_interval: Duration::from_millis(500),
        task_start_delay: Duration::from_millis(5),
        seed: Some(42),
        ..MasterConfig::default()
    };
    f(&mut config);
    TestMaster::start(config).await.expect("master starts")
}

/// A raw HTTP response.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends one request with `Connection: close` and reads the whole answer
/// (`Content-Length` or chunked).
pub async fn raw(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> RawResponse {
    let fut = async {
        let mut stream = TcpStream::connect(addr).await.expect("connects");
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).await.expect("writes");
        stream.write_all(body).await.expect("writes");
        let mut reader = BufReader::new(stream);
        let (status, headers) = read_head(&mut reader).await;
        let chunked = headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
        let mut body = Vec::new();
        if chunked {
            while let Some(chunk) = read_chunk(&mut reader).await {
                body.extend_from_slice(&chunk);
            }
        } else {
            reader.read_to_end(&mut body).await.expect("reads");
        }
        RawResponse {
            status,
            headers,
            body,
        }
    };
    tokio::time::timeout(WAIT, fut)
        .await
        .expect("answer in time")
}

/// Reads the status line and headers.
pub async fn read_head<R: tokio::io::AsyncBufRead + Unpin>(
    reader: &mut R,
) -> (u16, Vec<(String, String)>) {
    let mut line = String::new();
    reader.read_line(&mut line).await.expect("status line");
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).await.expect("header line");
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    (status, headers)
}

/// Reads one HTTP chunk; `None` at the last (empty) chunk or EOF.
pub async fn read_chunk<R: tokio::io::AsyncBufRead + Unpin>(reader: &mut R) -> Option<Vec<u8>> {
    let mut size_line = String::new();
    if reader.read_line(&mut size_line).await.ok()? == 0 {
        return None;
    }
    let size = usize::from_str_radix(size_line.trim().split(';').next()?, 16).ok()?;
    if size == 0 {
        return None;
    }
    let mut chunk = vec![0; size + 2];
    reader.read_exact(&mut chunk).await.ok()?;
    assert_eq!(&chunk[size..], b"\r\n", "chunk ends with CRLF");
    chunk.truncate(size);
    Some(chunk)
}

/// A framework info with a name and user.
pub fn framework_info(name: &str) -> FrameworkInfo {
    FrameworkInfo {
        user: "nobody".into(),
        name: name.into(),
        role: Some("test".into()),
        principal: Some("test-principal".into()),
        ..Default::default()
    }
}

/// An SDK client for the master.
pub fn client(master: &TestMaster, info: FrameworkInfo, encoding: Encoding) -> SchedulerClient {
    let mut config = ClientConfig::new(master.url(), info).expect("valid master URL");
    config.encoding = encoding;
    config.request_timeout = Duration::from_secs(5);
    config.backoff.initial = Duration::from_millis(50);
    config.backoff.max = Duration::from_millis(200);
    config.backoff.max_attempts = Some(3);
    SchedulerClient::new(config)
}

/// The next event the predicate picks (others are skipped), within [`WAIT`].
pub async fn next_event(events: &mut Subscription, mut pick: impl FnMut(&Event) -> bool) -> Event {
    let fut = async {
        loop {
            match events.next().await {
                Some(Ok(ClientEvent::Event(e))) if pick(&e) => return *e,
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("subscription failed: {e}"),
                None => panic!("subscription ended"),
            }
        }
    };
    tokio::time::timeout(WAIT, fut)
        .await
        .expect("event in time")
}

/// Waits for SUBSCRIBED; returns the framework id.
pub async fn subscribed(events: &mut Subscription) -> String {
    let fut = async {
        loop {
            match events.next().await {
                Some(Ok(ClientEvent::Subscribed { framework_id, .. })) => {
                    return framework_id.value;
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("subscription failed: {e}"),
                None => panic!("subscription ended"),
            }
        }
    };
    tokio::time::timeout(WAIT, fut)
        .await
        .expect("SUBSCRIBED in time")
}
