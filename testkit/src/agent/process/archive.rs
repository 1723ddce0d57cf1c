//! Unpacking fetched archives into the sandbox, as the Mesos fetcher does
//! for URIs with `extract` set.
//!
//! Supported: `.tar`, `.tar.gz`/`.tgz` (unpacked into the sandbox, modes
//! kept, entries that would escape it refused by the `tar` crate) and plain
//! `.gz` (decompressed next to itself, without the suffix). Other archive
//! kinds the Mesos fetcher knows (`.zip`, `.tar.bz2`, `.tar.xz`, ...) are
//! refused with an error rather than silently left packed. Everything is
//! read through a size limit, so a hostile archive cannot fill the disk.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

/// Most bytes one archive may unpack to.
const MAX_UNPACKED_BYTES: u64 = 4 << 30;

/// An archive format, recognised by file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// `.tar`
    Tar,
    /// `.tar.gz`, `.tgz`
    TarGz,
    /// `.gz` (not a tarball)
    Gz,
}

/// What to do with a fetched file when `extract` is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Not an archive: leave it as it is.
    Plain,
    /// An archive we unpack.
    Archive(Format),
    /// An archive the Mesos fetcher would unpack but we cannot.
    Unsupported(&'static str),
}

/// Classifies `name` by its suffix (case-insensitively, like Mesos).
pub(crate) fn kind(name: &Path) -> Kind {
    let name = name
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let ends = |suffix: &str| name.ends_with(suffix);
    if ends(".tar.gz") || ends(".tgz") {
        Kind::Archive(Format::TarGz)
    } else if ends(".tar") {
        Kind::Archive(Format::Tar)
    } else if ends(".gz") {
        Kind::Archive(Format::Gz)
    } else if ends(".zip") {
        Kind::Unsupported("zip")
    } else if ends(".tar.bz2") || ends(".tbz2") || ends(".bz2") {
        Kind::Unsupported("bzip2")
    } else if ends(".tar.xz") || ends(".txz") || ends(".xz") {
        Kind::Unsupported("xz")
    } else {
        Kind::Plain
    }
}

/// Unpacks `archive` (of `format`) into `dir`. Blocking: run it on a
/// blocking thread.
pub(crate) fn unpack(archive: &Path, format: Format, dir: &Path) -> io::Result<()> {
    let file = BufReader::new(File::open(archive)?);
    match format {
        Format::Tar => tar::Archive::new(Limited::new(file)).unpack(dir),
        Format::TarGz => {
            tar::Archive::new(Limited::new(flate2::read::GzDecoder::new(file))).unpack(dir)
        }
        Format::Gz => {
            let mut out = File::create(gunzipped_name(archive, dir))?;
            io::copy(
                &mut Limited::new(flate2::read::GzDecoder::new(file)),
                &mut out,
            )
            .map(drop)
        }
    }
}

/// `dir/<name without .gz>`.
fn gunzipped_name(archive: &Path, dir: &Path) -> PathBuf {
    let name = archive
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name
        .len()
        .checked_sub(3)
        .and_then(|end| name.get(..end))
        .unwrap_or_default();
    dir.join(if stem.is_empty() { "unpacked" } else { stem })
}

/// A reader that fails once more than [`MAX_UNPACKED_BYTES`] went through.
struct Limited<R> {
    inner: R,
    left: u64,
}

impl<R> Limited<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            left: MAX_UNPACKED_BYTES,
        }
    }
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.left = self.left.checked_sub(n as u64).ok_or_else(|| {
            io::Error::other(format!(
                "archive unpacks to more than {MAX_UNPACKED_BYTES} bytes"
            ))
        })?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_suffix() {
        assert_eq!(kind(Path::new("pkg.tar.gz")), Kind::Archive(Format::TarGz));
        assert_eq!(kind(Path::new("PKG.TGZ")), Kind::Archive(Format::TarGz));
        assert_eq!(kind(Path::new("a.tar")), Kind::Archive(Format::Tar));
        assert_eq!(kind(Path::new("notes.txt.gz")), Kind::Archive(Format::Gz));
        assert_eq!(kind(Path::new("a.zip")), Kind::Unsupported("zip"));
        assert_eq!(kind(Path::new("a.tar.xz")), Kind::Unsupported("xz"));
        assert_eq!(kind(Path::new("run.sh")), Kind::Plain);
        assert_eq!(kind(Path::new("tar")), Kind::Plain);
    }

    #[test]
    fn gunzipped_names_drop_the_suffix() {
        assert_eq!(
            gunzipped_name(Path::new("/x/notes.txt.gz"), Path::new("/s")),
            Path::new("/s/notes.txt")
        );
        assert_eq!(
            gunzipped_name(Path::new("/x/.gz"), Path::new("/s")),
            Path::new("/s/unpacked")
        );
    }
}
