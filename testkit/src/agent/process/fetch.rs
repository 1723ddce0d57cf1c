//! Fetching `CommandInfo.uris` into a sandbox, like the Mesos fetcher.
//!
//! Sources: an absolute local path, `file:///absolute/path`, or
//! `http://` on a loopback host (`127.0.0.0/8`, `::1`, `localhost`). The
//! testkit must not reach out of the machine, so every other host and scheme
//! is refused with an error that says so. The file lands in the sandbox as
//! `output_file` if given, else under the URI's last path segment; then
//! `executable` sets mode 0755, and `extract` (default true) unpacks archives
//! (see [`super::archive`]). `cache` is ignored: every launch fetches anew.
//!
//! Bounds: connecting takes at most [`CONNECT_TIMEOUT`], a whole HTTP fetch at
//! most [`HTTP_TIMEOUT`], and a body at most [`MAX_BODY_BYTES`].

use std::net::{IpAddr, SocketAddr};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use plinth_proto::v1::command_info::Uri;
use tokio::io::AsyncWriteExt;

use super::archive::{self, Kind};

/// Longest wait for a TCP connection to the HTTP server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest time one HTTP fetch (request, headers and body) may take.
const HTTP_TIMEOUT: Duration = Duration::from_secs(60);
/// Largest HTTP body accepted.
const MAX_BODY_BYTES: u64 = 1 << 30;

/// Why one URI could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// Not a local path, `file://` or `http://` URI.
    #[error(
        "unsupported URI scheme {scheme:?}: the testkit process agent fetches only absolute local \
         paths, file:// and http:// on a loopback host"
    )]
    UnsupportedScheme {
        /// The scheme, or the whole value when it has none.
        scheme: String,
    },
    /// The URI could not be parsed.
    #[error("malformed URI: {problem}")]
    Malformed {
        /// What is wrong with it.
        problem: String,
    },
    /// An HTTP URI names a host that is not loopback.
    #[error(
        "refusing to fetch from host {host:?}: the testkit process agent fetches over HTTP only \
         from loopback (127.0.0.1, ::1, localhost)"
    )]
    NotLoopback {
        /// The host named in the URI.
        host: String,
    },
    /// Neither `output_file` nor the URI gives a file name.
    #[error("the URI has no file name; set output_file")]
    NoFileName,
    /// `output_file` is absolute or leaves the sandbox.
    #[error("output_file {output_file:?} must be a relative path inside the sandbox")]
    InvalidOutputFile {
        /// The offending value.
        output_file: String,
    },
    /// Copying a local file failed.
    #[error("could not copy {path} into the sandbox")]
    Copy {
        /// The local source.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// No connection to the HTTP server.
    #[error("could not connect to {address}")]
    Connect {
        /// host:port from the URI.
        address: String,
        /// The last connection error.
        #[source]
        source: std::io::Error,
    },
    /// The HTTP exchange failed.
    #[error("HTTP request failed")]
    Http(#[source] hyper::Error),
    /// The server answered with something other than 2xx.
    #[error("the server answered HTTP {status}")]
    HttpStatus {
        /// The status code.
        status: http::StatusCode,
    },
    /// The fetch took too long.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The body is larger than the limit.
    #[error("the body is larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// Writing the file into the sandbox, or changing its mode, failed.
    #[error("could not write {path}")]
    Write {
        /// The destination.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Unpacking the archive failed.
    #[error("could not extract {path}")]
    Extract {
        /// The archive in the sandbox.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// An archive format the Mesos fetcher would unpack but we cannot.
    #[error(
        "{format} archives are not supported by the testkit process agent; set extract=false or \
         use .tar, .tar.gz or .tgz"
    )]
    UnsupportedArchive {
        /// The format.
        format: &'static str,
    },
}

/// Where a URI's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    Local(PathBuf),
    Http(http::Uri),
}

/// Fetches `uri` into `sandbox`, making it executable and extracting it as
/// asked.
pub(crate) async fn fetch(uri: &Uri, sandbox: &Path) -> Result<(), FetchError> {
    let source = parse(&uri.value)?;
    let destination = sandbox.join(destination_name(&source, uri.output_file.as_deref())?);
    if let Some(parent) = destination.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|source| FetchError::Write {
                path: parent.to_owned(),
                source,
            })?;
    }
    match &source {
        Source::Local(path) => {
            tokio::fs::copy(path, &destination)
                .await
                .map_err(|source| FetchError::Copy {
                    path: path.clone(),
                    source,
                })?;
        }
        Source::Http(http_uri) => {
            tokio::time::timeout(HTTP_TIMEOUT, download(http_uri, &destination))
                .await
                .map_err(|_| FetchError::Timeout(HTTP_TIMEOUT))??;
        }
    }
    if uri.executable() {
        let mode = std::fs::Permissions::from_mode(0o755);
        tokio::fs::set_permissions(&destination, mode)
            .await
            .map_err(|source| FetchError::Write {
                path: destination.clone(),
                source,
            })?;
    }
    // Mesos does not extract executables; it only extracts when asked.
    if uri.extract() && !uri.executable() {
        extract(&destination, sandbox).await?;
    }
    Ok(())
}

/// Parses a URI value into where to read it from.
fn parse(value: &str) -> Result<Source, FetchError> {
    if value.starts_with('/') {
        return Ok(Source::Local(PathBuf::from(value)));
    }
    if let Some(path) = value.strip_prefix("file://") {
        // file://host/path is not a local path; only file:///path is.
        if !path.starts_with('/') {
            return Err(FetchError::Malformed {
                problem: "a file:// URI needs an absolute path (file:///...)".into(),
            });
        }
        return Ok(Source::Local(PathBuf::from(path)));
    }
    let uri: http::Uri =
        value
            .parse()
            .map_err(|error: http::uri::InvalidUri| FetchError::Malformed {
                problem: error.to_string(),
            })?;
    match uri.scheme_str() {
        Some("http") => {}
        Some(scheme) => {
            return Err(FetchError::UnsupportedScheme {
                scheme: scheme.into(),
            });
        }
        None => {
            return Err(FetchError::UnsupportedScheme {
                scheme: value.into(),
            });
        }
    }
    let host = uri.host().unwrap_or_default();
    if !is_loopback_name(host) {
        return Err(FetchError::NotLoopback { host: host.into() });
    }
    Ok(Source::Http(uri))
}

/// Whether `host` (as in a URI, IPv6 in brackets) is loopback.
fn is_loopback_name(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The path, relative to the sandbox, the fetched file is written to.
fn destination_name(source: &Source, output_file: Option<&str>) -> Result<PathBuf, FetchError> {
    if let Some(output_file) = output_file.filter(|name| !name.is_empty()) {
        let path = Path::new(output_file);
        let normal = path
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
        if !normal || path.file_name().is_none() {
            return Err(FetchError::InvalidOutputFile {
                output_file: output_file.into(),
            });
        }
        return Ok(path.to_owned());
    }
    let name = match source {
        Source::Local(path) => path.file_name().map(PathBuf::from),
        Source::Http(uri) => uri
            .path()
            .rsplit('/')
            .next()
            .filter(|s| !s.is_empty())
            .map(PathBuf::from),
    };
    // "." or ".." as a last segment must not become the destination.
    name.filter(|n| matches!(n.components().next(), Some(Component::Normal(_))))
        .ok_or(FetchError::NoFileName)
}

/// GETs `uri` (loopback, checked by [`parse`]) into `destination`.
async fn download(uri: &http::Uri, destination: &Path) -> Result<(), FetchError> {
    let stream = connect(uri).await?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(FetchError::Http)?;
    // The connection must be driven while we talk on it; it ends with us.
    let driver = AbortOnDrop(tokio::spawn(connection));
    let authority = uri
        .authority()
        .map(http::uri::Authority::as_str)
        .unwrap_or_default();
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let request = http::Request::get(path)
        .header(http::header::HOST, authority)
        .body(Empty::<Bytes>::new())
        .map_err(|error| FetchError::Malformed {
            problem: error.to_string(),
        })?;
    let response = sender
        .send_request(request)
        .await
        .map_err(FetchError::Http)?;
    if !response.status().is_success() {
        return Err(FetchError::HttpStatus {
            status: response.status(),
        });
    }
    let write_error = |source| FetchError::Write {
        path: destination.to_owned(),
        source,
    };
    let mut file = tokio::fs::File::create(destination)
        .await
        .map_err(write_error)?;
    let mut body = response.into_body();
    let mut written: u64 = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(FetchError::Http)?;
        if let Ok(data) = frame.into_data() {
            written = written.saturating_add(data.len() as u64);
            if written > MAX_BODY_BYTES {
                return Err(FetchError::TooLarge {
                    limit: MAX_BODY_BYTES,
                });
            }
            file.write_all(&data).await.map_err(write_error)?;
        }
    }
    file.flush().await.map_err(write_error)?;
    drop(driver);
    Ok(())
}

/// A TCP connection to the URI's host, trying each loopback address it
/// resolves to (so `localhost` works whether it means `127.0.0.1` or `::1`).
async fn connect(uri: &http::Uri) -> Result<tokio::net::TcpStream, FetchError> {
    let host = uri
        .host()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let port = uri.port_u16().unwrap_or(80);
    let address = format!("{host}:{port}");
    let connect_error = |source| FetchError::Connect {
        address: address.clone(),
        source,
    };
    let addresses: Vec<SocketAddr> =
        tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::lookup_host((host, port)))
            .await
            .map_err(|_| FetchError::Timeout(CONNECT_TIMEOUT))?
            .map_err(connect_error)?
            // Whatever a resolver says, only loopback is ever dialled.
            .filter(|addr| addr.ip().is_loopback())
            .collect();
    let mut last_error = std::io::Error::new(std::io::ErrorKind::NotFound, "no loopback address");
    for addr in addresses {
        match tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => return Ok(stream),
            Ok(Err(error)) => last_error = error,
            Err(_) => {
                last_error = std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out")
            }
        }
    }
    Err(connect_error(last_error))
}

/// Unpacks `file` into `sandbox` if it is an archive.
async fn extract(file: &Path, sandbox: &Path) -> Result<(), FetchError> {
    let format = match archive::kind(file) {
        Kind::Plain => return Ok(()),
        Kind::Unsupported(format) => return Err(FetchError::UnsupportedArchive { format }),
        Kind::Archive(format) => format,
    };
    let (archive_path, dir) = (file.to_owned(), sandbox.to_owned());
    // Bounded by the archive size limit; a blocking thread keeps the runtime free.
    let unpacked =
        tokio::task::spawn_blocking(move || archive::unpack(&archive_path, format, &dir))
            .await
            .unwrap_or_else(|join| Err(std::io::Error::other(join.to_string())));
    unpacked.map_err(|source| FetchError::Extract {
        path: file.to_owned(),
        source,
    })
}

/// Aborts a spawned task when dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_and_file_uris() {
        assert_eq!(
            parse("/opt/pkg.tgz").ok(),
            Some(Source::Local("/opt/pkg.tgz".into()))
        );
        assert_eq!(
            parse("file:///opt/pkg.tgz").ok(),
            Some(Source::Local("/opt/pkg.tgz".into()))
        );
        assert!(matches!(
            parse("file://host/pkg.tgz"),
            Err(FetchError::Malformed { .. })
        ));
        assert!(matches!(
            parse("pkg.tgz"),
            Err(FetchError::UnsupportedScheme { .. })
        ));
    }

    #[test]
    fn http_only_on_loopback() {
        for ok in [
            "http://127.0.0.1:8080/a",
            "http://localhost/a",
            "http://[::1]:9/a",
            "http://127.1.2.3/a",
        ] {
            assert!(matches!(parse(ok), Ok(Source::Http(_))), "{ok} was refused");
        }
        let refused = parse("http://example.com/a.tgz").expect_err("a remote host");
        assert!(matches!(&refused, FetchError::NotLoopback { host } if host == "example.com"));
        assert!(refused.to_string().contains("loopback"));
        assert!(matches!(
            parse("https://127.0.0.1/a"),
            Err(FetchError::UnsupportedScheme { .. })
        ));
        assert!(matches!(
            parse("hdfs://nn/a"),
            Err(FetchError::UnsupportedScheme { .. })
        ));
    }

    #[test]
    fn destination_names() {
        let http = parse("http://127.0.0.1:1/dir/pkg.tar.gz?x=1").expect("a loopback URI");
        assert_eq!(
            destination_name(&http, None).ok(),
            Some("pkg.tar.gz".into())
        );
        assert_eq!(
            destination_name(&http, Some("bin/tool")).ok(),
            Some("bin/tool".into())
        );
        assert!(matches!(
            destination_name(&http, Some("../x")),
            Err(FetchError::InvalidOutputFile { .. })
        ));
        assert!(matches!(
            destination_name(&http, Some("/etc/x")),
            Err(FetchError::InvalidOutputFile { .. })
        ));
        let bare = parse("http://127.0.0.1:1/").expect("a loopback URI");
        assert!(matches!(
            destination_name(&bare, None),
            Err(FetchError::NoFileName)
        ));
        let dots = parse("/tmp/..").expect("a path");
        assert!(matches!(
            destination_name(&dots, None),
            Err(FetchError::NoFileName)
        ));
    }
}
