//! [`FilePersister`]: the state tree in a local directory, with atomic
//! multi-node writes through a redo journal.
//!
//! # Layout
//! ```text
//! DIR/.write-lock    flock'd (exclusive) around every operation, so several
//!                    processes may open DIR safely
//! DIR/.lock          the leader lock (flock held by the LeaderLock)
//! DIR/journal        a committed transaction not yet fully applied
//! DIR/journal.tmp    a transaction being written (not committed)
//! DIR/tree/          the root node; node `a/b` is the directory tree/a/b and
//!                    its data is the file tree/a/b/.data (absent = empty)
//! ```
//! Node names are escaped into file names (`%XX` for anything outside
//! `[A-Za-z0-9_.-]` and for a leading `.`), so no node name can collide
//! with `.data` or the temporary files.
//!
//! # Atomicity (redo journal)
//! A commit (1) evaluates the checks, (2) writes every operation with a
//! SHA-256 checksum to `journal.tmp` and fsyncs it, (3) renames it to
//! `journal` and fsyncs the directory — the commit point, (4) applies the
//! operations (deletes, then write-to-temp-and-rename per node), (5) fsyncs
//! every written file and touched directory, and (6) removes the journal.
//! Every operation first recovers: a leftover `journal.tmp` is discarded (the
//! transaction never committed) and a leftover `journal` is replayed
//! (its operations are idempotent). So a crash at any point leaves either
//! none or all of a transaction visible. A journal whose checksum does not
//! match is reported as [`Error::CorruptJournal`], never silently dropped.
//!
//! # Caveats
//! `delete_root` removes `tree/` and any journal but keeps the two lock
//! files: deleting a lock file that another process has open would let a
//! third process lock a new file of the same name.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::error::{BackendError, Error, Result};
use super::lock::LeaderLock;
use super::path;
use super::persister::{MAX_TXN_BYTES, MAX_VALUE_BYTES, Persister, PreparedTxn, Txn};

const DATA: &str = ".data";
const DATA_TMP: &str = ".data.tmp";
const JOURNAL_MAGIC: &[u8; 8] = b"PLNTHJ01";
const JOURNAL_MAX_BYTES: usize = 2 * MAX_TXN_BYTES + 64;

/// A point at which a test makes a commit stop as if the process died.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CrashPoint {
    /// After `journal.tmp` is written, before it is renamed to `journal`.
    BeforeJournalCommit,
    /// After the journal is committed, before anything is applied.
    AfterJournalCommit,
    /// After applying this many operations of the journal.
    MidApply(usize),
}

impl CrashPoint {
    fn name(self) -> &'static str {
        match self {
            CrashPoint::BeforeJournalCommit => "before journal commit",
            CrashPoint::AfterJournalCommit => "after journal commit",
            CrashPoint::MidApply(_) => "mid apply",
        }
    }
}

/// A [`Persister`] over a local directory.
#[derive(Clone, Debug)]
pub struct FilePersister {
    inner: Arc<FileInner>,
}

#[derive(Debug)]
struct FileInner {
    dir: PathBuf,
    tree: PathBuf,
    journal: PathBuf,
    journal_tmp: PathBuf,
    write_lock: File,
    /// Serialises this handle's operations (flock does not exclude threads
    /// sharing one open file) and holds an injected crash point.
    crash: Mutex<Option<CrashPoint>>,
}

#[derive(Debug, PartialEq, Eq)]
enum JournalOp {
    Delete(String),
    Set(String, Bytes),
}

/// Holds the exclusive flock on `.write-lock` for one operation.
struct Flock<'a>(&'a File);

impl Drop for Flock<'_> {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

// === impl FilePersister ===

impl FilePersister {
    /// Opens (creating if needed) the state directory `dir` and recovers an
    /// interrupted transaction.
    pub async fn open(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        let opened = tokio::task::spawn_blocking(move || -> Result<FileInner> {
            fs::create_dir_all(&dir).map_err(|e| io_err("create directory", &dir, e))?;
            let lock_path = dir.join(".write-lock");
            let write_lock = OpenOptions::new()
                .create(true)
                .truncate(false)
                .read(true)
                .write(true)
                .open(&lock_path)
                .map_err(|e| io_err("open", &lock_path, e))?;
            Ok(FileInner {
                tree: dir.join("tree"),
                journal: dir.join("journal"),
                journal_tmp: dir.join("journal.tmp"),
                dir,
                write_lock,
                crash: Mutex::new(None),
            })
        })
        .await
        .map_err(join_err)??;
        let persister = FilePersister {
            inner: Arc::new(opened),
        };
        persister.run(|_, _| Ok(())).await?;
        Ok(persister)
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Makes the next commit stop at `point` as if the process had crashed
    /// (test aid): the call returns [`Error::InjectedCrash`] and leaves the
    /// files as they are.
    #[doc(hidden)]
    pub fn inject_crash(&self, point: CrashPoint) {
        *self.inner.crash.lock().unwrap_or_else(|p| p.into_inner()) = Some(point);
    }

    /// Runs `f` on a blocking thread, under this handle's mutex and the
    /// directory's flock, after recovering any committed journal.
    async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&FileInner, &mut Option<CrashPoint>) -> Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let mut crash = inner.crash.lock().unwrap_or_else(|p| p.into_inner());
            inner
                .write_lock
                .lock()
                .map_err(|e| io_err("lock", &inner.dir.join(".write-lock"), e))?;
            let _flock = Flock(&inner.write_lock);
            inner.recover()?;
            f(&inner, &mut crash)
        })
        .await
        .map_err(join_err)?
    }
}

impl Persister for FilePersister {
    async fn get(&self, path: &str) -> Result<Option<Bytes>> {
        let p = path::normalize_or_root(path)?;
        self.run(move |inner, _| inner.read_node(&p)).await
    }

    async fn get_many(&self, paths: &[String]) -> Result<BTreeMap<String, Option<Bytes>>> {
        let keys = paths
            .iter()
            .map(|p| Ok((p.clone(), path::normalize(p)?)))
            .collect::<Result<Vec<_>>>()?;
        self.run(move |inner, _| {
            keys.into_iter()
                .map(|(raw, key)| Ok((raw, inner.read_node(&key)?)))
                .collect()
        })
        .await
    }

    async fn get_children(&self, path: &str) -> Result<Vec<String>> {
        let p = path::normalize_or_root(path)?;
        self.run(move |inner, _| inner.children(&p)).await
    }

    async fn commit(&self, txn: Txn) -> Result<()> {
        let txn = txn.prepare(|p| self.location(p))?;
        self.run(move |inner, crash| inner.commit(txn, crash)).await
    }

    async fn delete_root(&self) -> Result<()> {
        self.run(|inner, crash| {
            let mut bytes = Vec::new();
            encode_journal(&[JournalOp::Delete(String::new())], &mut bytes);
            inner.write_journal(&bytes, crash)?;
            inner.apply(&[JournalOp::Delete(String::new())], crash)?;
            inner.finish_journal()
        })
        .await
    }

    async fn leader_lock(&self) -> Result<LeaderLock> {
        let path = self.inner.dir.join(".lock");
        let location = path.display().to_string();
        let file = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || {
                OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .read(true)
                    .write(true)
                    .open(&path)
            })
            .await
            .map_err(join_err)?
            .map_err(|source| Error::Lock {
                path: location.clone(),
                source: BackendError::Io(source),
            })?
        };
        let mut wait = Duration::from_millis(20);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(LeaderLock::with_file(location, file)),
                Err(TryLockError::WouldBlock) => {
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_millis(500));
                }
                Err(TryLockError::Error(source)) => {
                    return Err(Error::Lock {
                        path: location,
                        source: BackendError::Io(source),
                    });
                }
            }
        }
    }

    fn location(&self, path: &str) -> String {
        self.inner
            .node_dir(path.trim_matches('/'))
            .display()
            .to_string()
    }
}

// === impl FileInner ===

impl FileInner {
    fn node_dir(&self, path: &str) -> PathBuf {
        let mut dir = self.tree.clone();
        if !path.is_empty() {
            for segment in path.split('/') {
                dir.push(encode_segment(segment));
            }
        }
        dir
    }

    fn location(&self, path: &str) -> String {
        self.node_dir(path).display().to_string()
    }

    fn read_node(&self, path: &str) -> Result<Option<Bytes>> {
        let dir = self.node_dir(path);
        match fs::metadata(&dir) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => return Err(io_err("read", &dir, io::Error::other("not a directory"))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err("read", &dir, e)),
        }
        let data = dir.join(DATA);
        let file = match File::open(&data) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Some(Bytes::new())),
            Err(e) => return Err(io_err("open", &data, e)),
        };
        let len = file.metadata().map_err(|e| io_err("stat", &data, e))?.len();
        if len > MAX_VALUE_BYTES as u64 {
            return Err(Error::TooLarge {
                path: self.location(path),
                what: "value",
                bytes: usize::try_from(len).unwrap_or(usize::MAX),
                limit: MAX_VALUE_BYTES,
            });
        }
        let mut buf = Vec::with_capacity(len as usize);
        file.take(MAX_VALUE_BYTES as u64 + 1)
            .read_to_end(&mut buf)
            .map_err(|e| io_err("read", &data, e))?;
        Ok(Some(Bytes::from(buf)))
    }

    fn children(&self, path: &str) -> Result<Vec<String>> {
        let dir = self.node_dir(path);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err("list", &dir, e)),
        };
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| io_err("list", &dir, e))?;
            let file_name = entry.file_name();
            let Some(name) = file_name.to_str() else {
                continue;
            };
            if name.starts_with('.')
                || !entry
                    .file_type()
                    .map_err(|e| io_err("stat", &entry.path(), e))?
                    .is_dir()
            {
                continue;
            }
            match decode_segment(name) {
                Some(decoded) => names.push(decoded),
                None => {
                    return Err(Error::Decode {
                        path: entry.path().display().to_string(),
                        what: "node name",
                        reason: "not a valid escaped name".into(),
                    });
                }
            }
        }
        names.sort();
        Ok(names)
    }

    fn commit(&self, txn: PreparedTxn, crash: &mut Option<CrashPoint>) -> Result<()> {
        if let Some(missing) = txn.checks.iter().find(|c| !self.node_dir(c).is_dir()) {
            return Err(Error::PreconditionFailed {
                path: self.location(missing),
            });
        }
        if txn.is_noop() {
            return Ok(());
        }
        let ops: Vec<JournalOp> = txn
            .deletes
            .into_iter()
            .map(JournalOp::Delete)
            .chain(txn.sets.into_iter().map(|(p, v)| JournalOp::Set(p, v)))
            .collect();
        let mut bytes = Vec::new();
        encode_journal(&ops, &mut bytes);
        self.write_journal(&bytes, crash)?;
        self.apply(&ops, crash)?;
        self.finish_journal()
    }

    /// Writes and commits the journal (steps 2 and 3).
    fn write_journal(&self, bytes: &[u8], crash: &mut Option<CrashPoint>) -> Result<()> {
        let tmp = &self.journal_tmp;
        let mut file = File::create(tmp).map_err(|e| io_err("create", tmp, e))?;
        file.write_all(bytes).map_err(|e| io_err("write", tmp, e))?;
        file.sync_all().map_err(|e| io_err("fsync", tmp, e))?;
        drop(file);
        self.crash_at(crash, CrashPoint::BeforeJournalCommit, tmp)?;
        fs::rename(tmp, &self.journal).map_err(|e| io_err("rename", tmp, e))?;
        sync_dir(&self.dir)?;
        self.crash_at(crash, CrashPoint::AfterJournalCommit, &self.journal)
    }

    fn finish_journal(&self) -> Result<()> {
        fs::remove_file(&self.journal).map_err(|e| io_err("remove", &self.journal, e))?;
        sync_dir(&self.dir)
    }

    fn crash_at(
        &self,
        crash: &mut Option<CrashPoint>,
        point: CrashPoint,
        path: &Path,
    ) -> Result<()> {
        if *crash == Some(point) {
            *crash = None;
            return Err(Error::InjectedCrash {
                point: point.name(),
                path: path.display().to_string(),
            });
        }
        Ok(())
    }

    /// Applies journal operations (idempotent) and makes them durable.
    fn apply(&self, ops: &[JournalOp], crash: &mut Option<CrashPoint>) -> Result<()> {
        let mut files = Vec::new();
        let mut dirs = BTreeSet::new();
        for (i, op) in ops.iter().enumerate() {
            if *crash == Some(CrashPoint::MidApply(i)) {
                let path = match op {
                    JournalOp::Delete(p) | JournalOp::Set(p, _) => self.location(p),
                };
                *crash = None;
                return Err(Error::InjectedCrash {
                    point: "mid apply",
                    path,
                });
            }
            match op {
                JournalOp::Delete(p) => {
                    let dir = self.node_dir(p);
                    match fs::remove_dir_all(&dir) {
                        Ok(()) => {}
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                        Err(e) => return Err(io_err("delete", &dir, e)),
                    }
                    if let Some(parent) = dir.parent() {
                        dirs.insert(parent.to_path_buf());
                    }
                }
                JournalOp::Set(p, value) => {
                    let dir = self.node_dir(p);
                    fs::create_dir_all(&dir).map_err(|e| io_err("create directory", &dir, e))?;
                    let tmp = dir.join(DATA_TMP);
                    let data = dir.join(DATA);
                    fs::write(&tmp, value).map_err(|e| io_err("write", &tmp, e))?;
                    fs::rename(&tmp, &data).map_err(|e| io_err("rename", &tmp, e))?;
                    files.push(data);
                    let mut d = dir.as_path();
                    loop {
                        if !dirs.insert(d.to_path_buf()) || d == self.dir {
                            break;
                        }
                        match d.parent() {
                            Some(parent) => d = parent,
                            None => break,
                        }
                    }
                }
            }
        }
        for file in &files {
            match File::open(file) {
                Ok(f) => f.sync_all().map_err(|e| io_err("fsync", file, e))?,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_err("open", file, e)),
            }
        }
        for dir in &dirs {
            sync_dir(dir)?;
        }
        Ok(())
    }

    /// Discards an uncommitted journal and replays a committed one.
    fn recover(&self) -> Result<()> {
        match fs::remove_file(&self.journal_tmp) {
            Ok(()) => sync_dir(&self.dir)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err("remove", &self.journal_tmp, e)),
        }
        let file = match File::open(&self.journal) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_err("open", &self.journal, e)),
        };
        let mut bytes = Vec::new();
        file.take(JOURNAL_MAX_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| io_err("read", &self.journal, e))?;
        let ops = decode_journal(&bytes).map_err(|reason| Error::CorruptJournal {
            path: self.journal.display().to_string(),
            reason,
        })?;
        tracing::info!(journal = %self.journal.display(), ops = ops.len(), "replaying committed state journal");
        self.apply(&ops, &mut None)?;
        self.finish_journal()
    }
}

// === journal codec ===

fn encode_journal(ops: &[JournalOp], out: &mut Vec<u8>) {
    out.extend_from_slice(JOURNAL_MAGIC);
    out.extend_from_slice(&(ops.len() as u32).to_le_bytes());
    for op in ops {
        let (tag, path, value) = match op {
            JournalOp::Delete(p) => (0u8, p, None),
            JournalOp::Set(p, v) => (1u8, p, Some(v)),
        };
        out.push(tag);
        out.extend_from_slice(&(path.len() as u32).to_le_bytes());
        out.extend_from_slice(path.as_bytes());
        if let Some(v) = value {
            out.extend_from_slice(&(v.len() as u32).to_le_bytes());
            out.extend_from_slice(v);
        }
    }
    let digest = Sha256::digest(&out[..]);
    out.extend_from_slice(&digest);
}

fn decode_journal(bytes: &[u8]) -> std::result::Result<Vec<JournalOp>, &'static str> {
    if bytes.len() > JOURNAL_MAX_BYTES {
        return Err("larger than any transaction");
    }
    if bytes.len() < JOURNAL_MAGIC.len() + 4 + 32 {
        return Err("truncated");
    }
    let (body, digest) = bytes.split_at(bytes.len() - 32);
    if Sha256::digest(body).as_slice() != digest {
        return Err("checksum mismatch");
    }
    let mut rest = body
        .strip_prefix(JOURNAL_MAGIC.as_slice())
        .ok_or("bad magic")?;
    let count = take_u32(&mut rest)? as usize;
    let mut ops = Vec::with_capacity(count.min(100_000));
    for _ in 0..count {
        let (&tag, tail) = rest.split_first().ok_or("truncated")?;
        rest = tail;
        let len = take_u32(&mut rest)? as usize;
        let path = std::str::from_utf8(take(&mut rest, len)?)
            .map_err(|_| "path is not UTF-8")?
            .to_owned();
        if !path.is_empty() {
            path::normalize(&path).map_err(|_| "invalid path")?;
        }
        match tag {
            0 => ops.push(JournalOp::Delete(path)),
            1 => {
                let len = take_u32(&mut rest)? as usize;
                ops.push(JournalOp::Set(
                    path,
                    Bytes::copy_from_slice(take(&mut rest, len)?),
                ));
            }
            _ => return Err("unknown operation"),
        }
    }
    if !rest.is_empty() {
        return Err("trailing bytes");
    }
    Ok(ops)
}

fn take<'a>(rest: &mut &'a [u8], n: usize) -> std::result::Result<&'a [u8], &'static str> {
    if rest.len() < n {
        return Err("truncated");
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Ok(head)
}

fn take_u32(rest: &mut &[u8]) -> std::result::Result<u32, &'static str> {
    let b = take(rest, 4)?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

// === helpers ===

fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for (i, b) in segment.bytes().enumerate() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || (b == b'.' && i > 0) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn decode_segment(name: &str) -> Option<String> {
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = name.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn sync_dir(dir: &Path) -> Result<()> {
    match File::open(dir) {
        Ok(f) => f.sync_all().map_err(|e| io_err("fsync", dir, e)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err("open", dir, e)),
    }
}

fn io_err(op: &'static str, path: &Path, source: io::Error) -> Error {
    Error::Io {
        op,
        path: path.display().to_string(),
        source,
    }
}

fn join_err(e: tokio::task::JoinError) -> Error {
    Error::Io {
        op: "run blocking file operation",
        path: String::new(),
        source: io::Error::other(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_escaping_round_trips() {
        for name in [
            "hello-0-server",
            ".data",
            "a:b c",
            "%41",
            "ünï",
            "x.y",
            "...",
        ] {
            let enc = encode_segment(name);
            assert!(!enc.starts_with('.'), "{enc}");
            assert_eq!(decode_segment(&enc).as_deref(), Some(name));
        }
    }

    #[test]
    fn journal_round_trips_and_detects_damage() {
        let ops = vec![
            JournalOp::Delete("a".into()),
            JournalOp::Set("a/b".into(), Bytes::from_static(b"xyz")),
        ];
        let mut bytes = Vec::new();
        encode_journal(&ops, &mut bytes);
        assert_eq!(decode_journal(&bytes).unwrap(), ops);
        let mut damaged = bytes.clone();
        damaged[14] ^= 1;
        assert_eq!(decode_journal(&damaged), Err("checksum mismatch"));
        assert_eq!(
            decode_journal(&bytes[..bytes.len() - 3]),
            Err("checksum mismatch")
        );
        assert_eq!(decode_journal(b"short"), Err("truncated"));
    }
}
