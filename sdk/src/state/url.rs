//! [`BackendConfig`]: the `--state` argument (`zk://HOST:PORT/ROOT`,
//! `file:DIR`, `memory`) parsed into a backend choice.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use super::error::Error;
use super::zk::normalize_root;

/// ZooKeeper's client port, used when a `zk://` host names none.
pub const DEFAULT_ZK_PORT: u16 = 2181;

/// Which state backend to use, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BackendConfig {
    /// `zk://HOST[:PORT][,HOST[:PORT]...]/ROOT`.
    Zk {
        /// `host:port[,host:port...]`, ports filled in.
        connect: String,
        /// Absolute root of the state tree, never `/`.
        root: String,
    },
    /// `file:DIR` (also `file://DIR`).
    File {
        /// The state directory.
        dir: PathBuf,
    },
    /// `memory`: nothing survives the process.
    Memory,
}

impl FromStr for BackendConfig {
    type Err = Error;

    fn from_str(input: &str) -> Result<Self, Error> {
        let fail = |reason: &str| Error::ParseStateUrl {
            input: input.to_owned(),
            reason: reason.to_owned(),
        };
        let s = input.trim();
        if s == "memory" || s == "memory:" {
            return Ok(BackendConfig::Memory);
        }
        if let Some(rest) = s.strip_prefix("file:") {
            let dir = rest.strip_prefix("//").unwrap_or(rest);
            if dir.is_empty() {
                return Err(fail("the directory is missing (file:DIR)"));
            }
            return Ok(BackendConfig::File {
                dir: PathBuf::from(dir),
            });
        }
        if let Some(rest) = s.strip_prefix("zk://") {
            let (hosts, root) = match rest.find('/') {
                Some(i) => (&rest[..i], &rest[i..]),
                None => return Err(fail("the root path is missing (zk://HOST:PORT/ROOT)")),
            };
            if hosts.is_empty() {
                return Err(fail("no ZooKeeper host given"));
            }
            let mut connect = Vec::new();
            for host in hosts.split(',') {
                connect.push(parse_host(host).map_err(|r| fail(&r))?);
            }
            let root = normalize_root(root).map_err(|e| match e {
                Error::InvalidPath { reason, .. } => fail(reason),
                other => fail(&other.to_string()),
            })?;
            return Ok(BackendConfig::Zk {
                connect: connect.join(","),
                root,
            });
        }
        match s.split_once(':') {
            Some((scheme, _)) => Err(fail(&format!("unknown scheme `{scheme}`"))),
            None => Err(fail("unknown backend")),
        }
    }
}

fn parse_host(host: &str) -> Result<String, String> {
    if host.is_empty() {
        return Err("empty host in the host list".into());
    }
    let (name, port) = if let Some(end) = host.find(']') {
        // `[v6-address]` or `[v6-address]:port`.
        let (name, rest) = host.split_at(end + 1);
        match rest {
            "" => (name, None),
            _ => match rest.strip_prefix(':') {
                Some(port) => (name, Some(port)),
                None => return Err(format!("host `{host}` is not a host name")),
            },
        }
    } else {
        match host.rsplit_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (host, None),
        }
    };
    if name.is_empty() {
        return Err(format!("host `{host}` has no name"));
    }
    if name
        .chars()
        .any(|c| c.is_whitespace() || c == '@' || c == '?' || c == '#')
    {
        return Err(format!("host `{host}` is not a host name"));
    }
    let port = match port {
        None => DEFAULT_ZK_PORT,
        Some(p) => match p.parse::<u16>() {
            Ok(0) | Err(_) => {
                return Err(format!(
                    "port `{p}` of host `{host}` is not a port number (1-65535)"
                ));
            }
            Ok(p) => p,
        },
    };
    Ok(format!("{name}:{port}"))
}

impl fmt::Display for BackendConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackendConfig::Zk { connect, root } => write!(f, "zk://{connect}{root}"),
            BackendConfig::File { dir } => write!(f, "file:{}", dir.display()),
            BackendConfig::Memory => f.write_str("memory"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<BackendConfig, String> {
        s.parse::<BackendConfig>().map_err(|e| e.to_string())
    }

    #[test]
    fn parses_the_three_forms() {
        assert_eq!(
            parse("zk://127.0.0.1:2181/dcos-service-hello").unwrap(),
            BackendConfig::Zk {
                connect: "127.0.0.1:2181".into(),
                root: "/dcos-service-hello".into()
            }
        );
        assert_eq!(
            parse("zk://a,b:2182/x/y/").unwrap(),
            BackendConfig::Zk {
                connect: "a:2181,b:2182".into(),
                root: "/x/y".into()
            }
        );
        assert_eq!(
            parse("file:/var/lib/plinth").unwrap(),
            BackendConfig::File {
                dir: "/var/lib/plinth".into()
            }
        );
        assert_eq!(
            parse("file://state").unwrap(),
            BackendConfig::File {
                dir: "state".into()
            }
        );
        assert_eq!(parse("memory").unwrap(), BackendConfig::Memory);
        for s in ["zk://h:1/r", "file:/d", "memory"] {
            assert_eq!(parse(s).unwrap().to_string(), s);
        }
    }

    #[test]
    fn rejects_with_reasons() {
        let cases = [
            ("zk://host:2181", "root path is missing"),
            ("zk://host:2181/", "other than `/`"),
            ("zk:///root", "no ZooKeeper host"),
            ("zk://host:99999/r", "not a port number"),
            ("zk://host:0/r", "not a port number"),
            ("zk://h,,g/r", "empty host"),
            ("zk://h/a//b", "valid path"),
            ("zk://h/zookeeper", "reserved"),
            ("file:", "directory is missing"),
            ("s3://bucket", "unknown scheme `s3`"),
            ("mem", "unknown backend"),
        ];
        for (input, want) in cases {
            let err = parse(input).unwrap_err();
            assert!(err.contains(want), "{input}: {err}");
            assert!(err.contains("expected zk://"), "{err}");
        }
    }
}
