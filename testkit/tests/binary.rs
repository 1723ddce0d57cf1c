//! The `plinth-testkit master` binary: prints its URL first, serves, and
//! exits cleanly on SIGTERM.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, BufReader};

#[tokio::test]
async fn master_prints_its_url_serves_and_stops_on_sigterm() {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_plinth-testkit"))
        .args([
            "master",
            "--listen",
            "127.0.0.1:0",
            "--agents",
            "2",
            "--agent-ports",
            "40000-40100",
            "--mount-disks",
            "1",
            "--heartbeat-interval",
            "1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let url = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let addr: std::net::SocketAddr = url.trim_start_matches("http://").parse().unwrap();
    let state = {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(
            format!("GET /master/state HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    };
    let body = state.split_once("\r\n\r\n").unwrap().1;
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    let slaves = json["slaves"].as_array().unwrap();
    assert_eq!(slaves.len(), 2);
    assert_eq!(slaves[0]["resources"]["ports"], "[40000-40100]");
    let mount = slaves[0]["unreserved_resources_full"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["disk"]["source"]["type"] == "MOUNT");
    assert!(mount, "a MOUNT disk");
    let pid = child.id().unwrap();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(exit.success(), "{exit:?}");
}

#[tokio::test]
async fn bad_flags_are_refused_with_a_message() {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_plinth-testkit"))
        .args(["master", "--listen", "127.0.0.1:0", "--agent-ports", "9-1"])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--agent-ports"));
}
