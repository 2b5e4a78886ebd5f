//! Reading and writing small text files inside a container.
//!
//! Reads use the engine's archive API, which starts no process in the container. Writes are one
//! `sh` call that writes each file under a temporary name and renames it over the old one, so a
//! reader (containerd) never sees a half-written file. (The archive API could upload files too,
//! but Docker 20.10 serves each upload and each folder read by starting a helper process, ~30 ms
//! apiece.)
//!
//! Files keep their real modification times. What brrt wrote is recorded in a *stamp*: a
//! symlink beside the files whose target lists, for each file, the hash of its content and the
//! modification time the write gave it. The engine stats a symlink without following it and
//! hands back its target (`HEAD` on the archive API, under a millisecond), so a no-op check
//! is one stat of the stamp and one of each file, not a read (which Docker 20.10 serves by
//! starting a helper process, ~40 ms). An edit by hand changes a file's time, so it is seen.

use crate::ops::digest::sha256_hex;
use crate::ops::docker::exec;
use crate::ops::timestamp::unix_nanos;
use crate::ops::{Error, Result};
use bollard::query_parameters::{
    ContainerArchiveInfoOptionsBuilder, DownloadFromContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

/// Every regular file under `dir` in the container, keyed by its path relative to `dir`.
/// An absent directory reads as empty.
pub async fn read_dir_files(
    docker: &Docker,
    container: &str,
    dir: &str,
) -> Result<BTreeMap<String, String>> {
    let Some(bytes) = download(docker, container, dir).await? else {
        return Ok(BTreeMap::new());
    };
    let mut files = BTreeMap::new();
    let mut archive = tar::Archive::new(bytes.as_slice());
    let entries = archive
        .entries()
        .map_err(|e| Error::Other(format!("read {dir} in {container}: {e}")))?;
    let base = dir
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    for entry in entries {
        let mut entry =
            entry.map_err(|e| Error::Other(format!("read {dir} in {container}: {e}")))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry
            .path()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let rel = path
            .strip_prefix(&format!("{base}/"))
            .unwrap_or(&path)
            .to_string();
        let mut text = String::new();
        if entry.read_to_string(&mut text).is_ok() {
            files.insert(rel, text);
        }
    }
    Ok(files)
}

/// The small regular files under `dir` in the container whose path (relative to `dir`) `wanted`
/// accepts, keyed by that path; an absent directory reads as empty. One archive read for the
/// whole tree, streamed: the content of every other entry (a half-written upload of hundreds of
/// megabytes, say) passes by and is never held, and a wanted file is kept only up to
/// `max_size` bytes.
pub async fn read_small_files(
    docker: &Docker,
    container: &str,
    dir: &str,
    wanted: impl Fn(&str) -> bool + Send + 'static,
    max_size: u64,
) -> Result<BTreeMap<String, Vec<u8>>> {
    let opts = DownloadFromContainerOptionsBuilder::default()
        .path(dir)
        .build();
    let mut stream = docker.download_from_container(container, Some(opts));
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<bytes::Bytes>>(8);
    let base = format!(
        "{}/",
        dir.trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default()
    );
    let reader = tokio::task::spawn_blocking(move || {
        let mut files = BTreeMap::new();
        let mut archive = tar::Archive::new(ChannelReader {
            rx,
            piece: bytes::Bytes::new(),
        });
        for entry in archive.entries()? {
            let mut entry = entry?;
            if !entry.header().entry_type().is_file() || entry.size() > max_size {
                continue;
            }
            let path = entry.path()?.to_string_lossy().into_owned();
            let rel = path.strip_prefix(&base).unwrap_or(&path).to_string();
            if wanted(&rel) {
                let mut content = Vec::new();
                entry.read_to_end(&mut content)?;
                files.insert(rel, content);
            }
        }
        Ok::<_, std::io::Error>(files)
    });
    let mut missing = false;
    while let Some(chunk) = stream.next().await {
        let piece = match chunk {
            Ok(c) => Ok(c),
            Err(e) if super::container::is_not_found(&e) && is_missing_path(&e) => {
                missing = true;
                break;
            }
            Err(e) => Err(std::io::Error::other(e.to_string())),
        };
        let failed = piece.is_err();
        // The reader stops early only on a broken archive, which it reports.
        if tx.send(piece).await.is_err() || failed {
            break;
        }
    }
    drop(tx);
    let read = reader
        .await
        .map_err(|e| Error::Other(format!("read {dir} in {container}: {e}")))?;
    if missing {
        return Ok(BTreeMap::new());
    }
    read.map_err(|e| Error::Other(format!("read {dir} in {container}: {e}")))
}

/// A blocking reader over the pieces of a download, for the tar reader on a blocking thread.
struct ChannelReader {
    rx: tokio::sync::mpsc::Receiver<std::io::Result<bytes::Bytes>>,
    piece: bytes::Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.piece.is_empty() {
            match self.rx.blocking_recv() {
                Some(piece) => self.piece = piece?,
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.piece.len());
        out[..n].copy_from_slice(&self.piece.split_to(n));
        Ok(n)
    }
}

/// The tar archive of `path` in the container (the archive API); `None` when it does not exist.
async fn download(docker: &Docker, container: &str, path: &str) -> Result<Option<Vec<u8>>> {
    let opts = DownloadFromContainerOptionsBuilder::default()
        .path(path)
        .build();
    let mut stream = docker.download_from_container(container, Some(opts));
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(c) => bytes.extend_from_slice(&c),
            Err(e) if super::container::is_not_found(&e) && is_missing_path(&e) => return Ok(None),
            Err(e) => return Err(Error::docker(format!("read {path} in {container}"), e)),
        }
    }
    Ok(Some(bytes))
}

fn is_missing_path(err: &bollard::errors::Error) -> bool {
    // A 404 is either "no such container" or "no such file"; only the second reads as empty.
    !err.to_string().to_lowercase().contains("no such container")
}

/// What brrt wrote under one folder of a container, as its stamp symlink records it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stamp {
    /// Absolute path → (content hash, modification time as the container's `stat` printed it).
    entries: BTreeMap<String, (String, String)>,
}

/// The version tag a stamp starts with.
const STAMP_V1: &str = "brrt-stamp-v1";

impl Stamp {
    /// Reads a stamp's target. The engine reports a relative link target joined to the link's
    /// folder, so the stamp starts where its version tag does.
    fn parse(target: &str) -> Stamp {
        let Some(at) = target.find(STAMP_V1) else {
            return Stamp::default();
        };
        let mut parts = target[at..].split(';');
        if parts.next() != Some(STAMP_V1) {
            return Stamp::default();
        }
        let entries = parts
            .filter_map(|entry| {
                let mut fields = entry.splitn(3, '|');
                let (path, hash, mtime) = (fields.next()?, fields.next()?, fields.next()?);
                Some((path.to_string(), (hash.to_string(), mtime.to_string())))
            })
            .collect();
        Stamp { entries }
    }

    /// The files the stamp lists.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// The stamp's text for the files in `keep` (`path|hash|mtime` entries after the version),
    /// to which a write adds the files it writes.
    fn kept(&self, keep: &BTreeSet<&str>) -> String {
        let mut text = STAMP_V1.to_string();
        for (path, (hash, mtime)) in &self.entries {
            if keep.contains(path.as_str()) {
                text.push_str(&format!(";{path}|{hash}|{mtime}"));
            }
        }
        text
    }
}

/// The hash a stamp records for `content`.
fn content_hash(content: &str) -> String {
    sha256_hex(content)[..16].to_string()
}

/// Reads the stamp symlink at `stamp_path` (one stat); an absent one is an empty stamp.
pub async fn read_stamp(docker: &Docker, container: &str, stamp_path: &str) -> Result<Stamp> {
    match stat_path(docker, container, stamp_path).await? {
        Some(s) => Ok(Stamp::parse(&s.link_target)),
        None => Ok(Stamp::default()),
    }
}

/// Whether `path` in the container still holds `content` as brrt wrote it: the stamp records
/// this content for it, and the file, as `stat` (a [`stat_path`] of it) found it, has the size
/// and the modification time of that write.
pub fn file_holds(path: &str, content: &str, stamp: &Stamp, stat: Option<&PathStat>) -> bool {
    let Some((hash, written_at)) = stamp.entries.get(path) else {
        return false;
    };
    let Some(now) = stat else {
        return false;
    };
    let same_time = now.modified.is_some() && now.modified == parse_stat_time(written_at);
    *hash == content_hash(content)
        && same_time
        && usize::try_from(now.size).ok() == Some(content.len())
}

/// A time as `stat -c %y` prints it (`2026-11-29 20:05:24.368998864 +0000`, GNU and busybox),
/// in nanoseconds since the epoch.
fn parse_stat_time(text: &str) -> Option<i128> {
    jiff::fmt::strtime::parse("%Y-%m-%d %H:%M:%S%.f %z", text)
        .and_then(|t| t.to_timestamp())
        .ok()
        .map(|t| t.as_nanosecond())
}

/// Shell snippets run around a write, in the same `sh` call.
#[derive(Debug, Clone, Copy, Default)]
pub struct AroundWrite<'a> {
    /// Runs first; a non-zero exit stops everything before any file is written.
    pub before: &'a str,
    /// Runs last; what it prints is returned.
    pub after: &'a str,
}

/// Runs `around.before`, writes `files` (absolute path → content) atomically, then records
/// them, with the entries of `stamp` for the paths in `keep`, in the stamp symlink at
/// `stamp_path`; then runs `around.after`. All in one `sh` call in the container; returns what
/// `around.after` printed, on stdout and on stderr.
/// Contents travel as arguments, so nothing is quoted into the script, and each file is written
/// under a temporary name and renamed over the old one. Parent folders are created as needed.
pub async fn write_files_atomically(
    docker: &Docker,
    container: &str,
    files: &BTreeMap<String, String>,
    stamp_path: &str,
    stamp: &Stamp,
    keep: &BTreeSet<&str>,
    around: AroundWrite<'_>,
) -> Result<(String, String)> {
    let AroundWrite {
        before,
        after: then,
    } = around;
    let script = format!(
        "set -e\n\
         stamp_path=$1; stamp=$2; shift 2\n\
         {before}\
         while [ $# -gt 0 ]; do\n\
         \x20 dir=${{1%/*}}; tmp=\"$dir/.${{1##*/}}.brrt-tmp\"\n\
         \x20 mkdir -p \"$dir\"\n\
         \x20 printf '%s' \"$2\" > \"$tmp\"\n\
         \x20 mv -f \"$tmp\" \"$1\"\n\
         \x20 stamp=\"$stamp;$1|$3|$(stat -c %y \"$1\")\"\n\
         \x20 shift 3\n\
         done\n\
         mkdir -p \"${{stamp_path%/*}}\"\n\
         ln -sfn \"$stamp\" \"$stamp_path.brrt-tmp\"\n\
         mv -f \"$stamp_path.brrt-tmp\" \"$stamp_path\"\n\
         {then}"
    );
    let mut cmd = vec!["sh".to_string(), "-c".to_string(), script, "sh".to_string()];
    cmd.extend([stamp_path.to_string(), stamp.kept(keep)]);
    for (path, content) in files {
        cmd.extend([path.clone(), content.clone(), content_hash(content)]);
    }
    let out = exec(docker, container, &cmd).await?;
    if out.code != 0 {
        return Err(Error::ExecFailed {
            container: container.into(),
            command: format!("sh -c '…' (writing {} file(s))", files.len()),
            code: out.code,
            // When the command cannot start at all, the engine says why on stdout.
            stderr: if out.stderr.trim().is_empty() {
                out.stdout.trim()
            } else {
                out.stderr.trim()
            }
            .to_string(),
        });
    }
    Ok((out.stdout, out.stderr))
}

/// What the engine says about a path in a container, without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathStat {
    pub size: i64,
    /// Modification time, nanoseconds since the epoch.
    pub modified: Option<i128>,
    pub is_dir: bool,
    /// A symlink's target, as the engine reports it (not followed); empty for anything else.
    pub link_target: String,
}

/// Stats `path` in the container (`HEAD` on the archive API: no process is started and nothing
/// is read). `None` when it does not exist.
pub async fn stat_path(docker: &Docker, container: &str, path: &str) -> Result<Option<PathStat>> {
    let opts = ContainerArchiveInfoOptionsBuilder::default()
        .path(path)
        .build();
    match docker
        .get_container_archive_info(container, Some(opts))
        .await
    {
        Ok(stat) => Ok(Some(PathStat {
            size: stat.size,
            modified: stat.modification_time.as_deref().and_then(unix_nanos),
            // Go's os.ModeDir.
            is_dir: stat.file_mode & (1 << 31) != 0,
            link_target: stat.link_target,
        })),
        Err(e) if super::container::is_not_found(&e) && is_missing_path(&e) => Ok(None),
        Err(e) => Err(Error::docker(format!("stat {path} in {container}"), e)),
    }
}

/// The bytes of one file in the container; `None` when it does not exist.
pub async fn read_file(docker: &Docker, container: &str, path: &str) -> Result<Option<Vec<u8>>> {
    let Some(bytes) = download(docker, container, path).await? else {
        return Ok(None);
    };
    let bad = |e: std::io::Error| Error::Other(format!("read {path} in {container}: {e}"));
    let mut archive = tar::Archive::new(bytes.as_slice());
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        if entry.header().entry_type().is_file() {
            let mut content = Vec::new();
            entry.read_to_end(&mut content).map_err(bad)?;
            return Ok(Some(content));
        }
    }
    Ok(None)
}

/// Writes one file into the container through the archive API (no shell needed, so this works in
/// `FROM scratch` images such as the registry's). The folder must exist.
pub async fn put_file(docker: &Docker, container: &str, path: &str, content: &[u8]) -> Result<()> {
    let (dir, name) = path
        .rsplit_once('/')
        .ok_or_else(|| Error::InvalidSpec(format!("`{path}` is not an absolute path")))?;
    let bad = |e: std::io::Error| Error::Other(format!("write {path} in {container}: {e}"));
    let mut header = tar::Header::new_gnu();
    header.set_size(u64::try_from(content.len()).unwrap_or(u64::MAX));
    header.set_mode(0o644);
    header.set_mtime(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    );
    let mut builder = tar::Builder::new(Vec::new());
    builder
        .append_data(&mut header, name, content)
        .map_err(bad)?;
    let tar = builder.into_inner().map_err(bad)?;
    let opts = bollard::query_parameters::UploadToContainerOptionsBuilder::default()
        .path(if dir.is_empty() { "/" } else { dir })
        .build();
    docker
        .upload_to_container(container, Some(opts), bollard::body_full(tar.into()))
        .await
        .map_err(|e| Error::docker(format!("write {path} in {container}"), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_round_trip_and_times_compare_across_formats() {
        let target =
            "brrt-stamp-v1;/a/hosts.toml|0123456789abcdef|2026-11-29 20:05:24.368998864 +0000";
        let stamp = Stamp::parse(target);
        assert_eq!(stamp.paths().collect::<Vec<_>>(), ["/a/hosts.toml"]);
        assert_eq!(stamp.kept(&BTreeSet::from(["/a/hosts.toml"])), target);
        assert_eq!(stamp.kept(&BTreeSet::new()), STAMP_V1);
        let (_, mtime) = &stamp.entries["/a/hosts.toml"];
        assert_eq!(
            parse_stat_time(mtime),
            crate::ops::timestamp::unix_nanos("2026-11-29T20:05:24.368998864Z")
        );
        assert_eq!(Stamp::parse("something else"), Stamp::default());
        assert_eq!(
            Stamp::parse(&format!("/etc/containerd/certs.d/{target}")),
            stamp
        );
    }
}
