//! Test support: a real, throwaway standalone ZooKeeper for integration
//! tests and benchmarks.
//!
//! [`TestZooKeeper::shared`] uses the server named by `PLINTH_TEST_ZK`
//! (`127.0.0.1:PORT`, exported by `scripts/test`) when it is set. Otherwise,
//! if the Debian `zookeeper` package is installed, it starts a private server
//! on a free loopback port in a temporary directory (the same configuration
//! as `scripts/test`), shared by every test of the process. A small shell
//! watchdog stops that server and removes its directory when the test
//! process exits. Without a ZooKeeper it returns `None`, and tests print
//! `skipped: no ZooKeeper`.
//!
//! [`Partition`] (`partition.rs`) puts a loopback proxy between one client
//! and the server that can cut them apart.

mod partition;

pub use partition::Partition;

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The environment variable naming a running test ZooKeeper.
pub const ZK_ENV: &str = "PLINTH_TEST_ZK";
const ZK_JAR: &str = "/usr/share/java/zookeeper.jar";
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A ZooKeeper for tests: external (from [`ZK_ENV`]) or private.
#[derive(Debug)]
pub struct TestZooKeeper {
    connect: String,
    watchdog: Option<Child>,
    dir: Option<PathBuf>,
}

impl TestZooKeeper {
    /// The process-wide test ZooKeeper, started on first use; `None` if
    /// none is configured or installed (the reason is printed once).
    pub fn shared() -> Option<&'static TestZooKeeper> {
        static SHARED: OnceLock<Option<TestZooKeeper>> = OnceLock::new();
        SHARED
            .get_or_init(|| match Self::from_env_or_start() {
                Ok(zk) => zk,
                Err(e) => {
                    eprintln!("test ZooKeeper failed to start: {e}");
                    None
                }
            })
            .as_ref()
    }

    /// The server from [`ZK_ENV`], else a private one, else `None`.
    pub fn from_env_or_start() -> io::Result<Option<TestZooKeeper>> {
        if let Ok(connect) = std::env::var(ZK_ENV)
            && !connect.trim().is_empty()
        {
            return Ok(Some(TestZooKeeper {
                connect: connect.trim().to_owned(),
                watchdog: None,
                dir: None,
            }));
        }
        if !Path::new(ZK_JAR).exists() || Command::new("java").arg("-version").output().is_err() {
            return Ok(None);
        }
        Self::start().map(Some)
    }

    /// Starts a private standalone server.
    pub fn start() -> io::Result<TestZooKeeper> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let dir = std::env::temp_dir().join(format!("plinth-zk-{}-{port}", std::process::id()));
        std::fs::create_dir_all(dir.join("data"))?;
        std::fs::write(
            dir.join("zoo.cfg"),
            format!(
                "tickTime=500\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n\
                 admin.enableServer=false\n4lw.commands.whitelist=ruok,srvr\nmaxSessionTimeout=20000\n",
                dir.join("data").display()
            ),
        )?;
        // The watchdog stops the server when this process exits (or on TERM).
        let script = r#"
dir="$1"; parent="$2"
java -cp "/etc/zookeeper/conf:/usr/share/java/*" org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zoo.cfg" >"$dir/log" 2>&1 &
z=$!
stop() { kill "$z" 2>/dev/null; wait "$z" 2>/dev/null; rm -rf "$dir"; exit 0; }
trap stop TERM INT
while kill -0 "$parent" 2>/dev/null && kill -0 "$z" 2>/dev/null; do sleep 0.5; done
stop
"#;
        // `setsid`: the watchdog outlives a kill of the test's process group
        // long enough to stop the server and remove its directory.
        let mut command = if Path::new("/usr/bin/setsid").exists() {
            let mut c = Command::new("/usr/bin/setsid");
            c.arg("bash");
            c
        } else {
            Command::new("bash")
        };
        let watchdog = command
            .arg("-c")
            .arg(script)
            .arg("plinth-test-zk")
            .arg(&dir)
            .arg(std::process::id().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let zk = TestZooKeeper {
            connect: format!("127.0.0.1:{port}"),
            watchdog: Some(watchdog),
            dir: Some(dir),
        };
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if serving(&zk.connect) {
                return Ok(zk);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let log = zk
            .dir
            .as_ref()
            .and_then(|d| std::fs::read_to_string(d.join("log")).ok())
            .unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(5).collect();
        Err(io::Error::other(format!(
            "ZooKeeper did not answer ruok within {START_TIMEOUT:?}: {tail:?}"
        )))
    }

    /// `host:port` of the server.
    pub fn connect(&self) -> &str {
        &self.connect
    }

    /// A `zk://` state backend under a fresh root of the shared server, or
    /// `None` (after printing why, so the caller can skip) without ZooKeeper.
    pub fn state_backend(name: &str) -> Option<crate::state::BackendConfig> {
        let Some(zk) = Self::shared() else {
            eprintln!("skipped: no ZooKeeper");
            return None;
        };
        format!("zk://{}{}", zk.connect(), Self::unique_root(name))
            .parse()
            .ok()
    }

    /// A fresh, unique root for one test (`/plinth-test/<name>-<uuid>`).
    pub fn unique_root(name: &str) -> String {
        format!("/plinth-test/{name}-{}", uuid::Uuid::new_v4().simple())
    }
}

impl Drop for TestZooKeeper {
    fn drop(&mut self) {
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(watchdog.id().to_string())
                .status();
            let _ = watchdog.wait();
        }
        if let Some(dir) = self.dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// True once the server answers `ruok` and `srvr` says it serves requests
/// (`ruok` alone answers while the server is still starting).
fn serving(connect: &str) -> bool {
    four_letter(connect, b"ruok").contains("imok")
        && four_letter(connect, b"srvr").contains("Mode:")
}

fn four_letter(connect: &str, word: &[u8]) -> String {
    let mut answer = String::new();
    let Ok(addr) = connect.parse() else {
        return answer;
    };
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return answer;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    if stream.write_all(word).is_ok() {
        let _ = stream.read_to_string(&mut answer);
    }
    answer
}
