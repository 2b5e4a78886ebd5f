//! Reading and writing small text files inside a container.
//!
//! Reads use the engine's archive API, which starts no process in the container. Writes are one
//! `sh` call that writes each file under a temporary name and renames it over the old one, so a
//! reader (containerd) never sees a half-written file. (The archive API could upload files too,
//! but Docker 20.10 serves each upload and each folder read by starting a helper process, ~30 ms
//! apiece.)
//!
//! Every file written here carries a modification time derived from its content (a *stamp*).
//! Whether a file still holds what was written is then a stat (`HEAD` on the archive API,
//! under a millisecond), not a read (which Docker 20.10 serves by starting a helper process,
//! ~40 ms): a no-op dev-up checks each mirror by stat. Any edit changes the time, so a file
//! changed by hand is seen as changed.

use crate::ops::docker::exec;
use crate::ops::timestamp::{unix_nanos, unix_seconds};
use crate::ops::{Error, Result};
use bollard::query_parameters::{
    ContainerArchiveInfoOptionsBuilder, DownloadFromContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;
use std::collections::BTreeMap;
use std::io::Read;

/// Every regular file under `dir` in the container, keyed by its path relative to `dir`.
/// An absent directory reads as empty.
pub async fn read_dir_files(
    docker: &Docker,
    container: &str,
    dir: &str,
) -> Result<BTreeMap<String, String>> {
    let opts = DownloadFromContainerOptionsBuilder::default()
        .path(dir)
        .build();
    let mut stream = docker.download_from_container(container, Some(opts));
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(c) => bytes.extend_from_slice(&c),
            Err(e) if super::container::is_not_found(&e) && is_missing_path(&e) => {
                return Ok(BTreeMap::new())
            }
            Err(e) => return Err(Error::docker(format!("read {dir} in {container}"), e)),
        }
    }
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

fn is_missing_path(err: &bollard::errors::Error) -> bool {
    // A 404 is either "no such container" or "no such file"; only the second reads as empty.
    !err.to_string().to_lowercase().contains("no such container")
}

/// Writes `files` (absolute path → content) atomically, each stamped (see [`stamp`]), then runs
/// the shell snippet `then`, all in one `sh` call in the container; returns what `then` printed.
/// Contents travel as arguments, so nothing is quoted into the script, and each file is written
/// under a temporary name and renamed over the old one. Parent folders are created as needed.
pub async fn write_files_atomically(
    docker: &Docker,
    container: &str,
    files: &BTreeMap<String, String>,
    then: &str,
) -> Result<String> {
    let script = format!(
        "set -e\n\
         while [ $# -gt 0 ]; do\n\
         \x20 dir=${{1%/*}}; tmp=\"$dir/.${{1##*/}}.brrt-tmp\"\n\
         \x20 mkdir -p \"$dir\"\n\
         \x20 printf '%s' \"$2\" > \"$tmp\"\n\
         \x20 touch -d \"@$3\" \"$tmp\"\n\
         \x20 mv -f \"$tmp\" \"$1\"\n\
         \x20 shift 3\n\
         done\n{then}"
    );
    let mut cmd = vec!["sh".to_string(), "-c".to_string(), script, "sh".to_string()];
    for (path, content) in files {
        cmd.extend([path.clone(), content.clone(), stamp(content).to_string()]);
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
    Ok(out.stdout)
}

/// The modification time brrt gives a file with this content: a date between 2001 and 2033
/// picked by a hash of the content.
pub fn stamp(content: &str) -> u64 {
    let hash = content.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    1_000_000_000 + hash % 1_000_000_000
}

/// Whether `path` in the container still holds `content` as brrt wrote it: same size, and the
/// modification time is the content's stamp. Absent files do not.
pub async fn file_holds(
    docker: &Docker,
    container: &str,
    path: &str,
    content: &str,
) -> Result<bool> {
    let opts = ContainerArchiveInfoOptionsBuilder::default()
        .path(path)
        .build();
    match docker
        .get_container_archive_info(container, Some(opts))
        .await
    {
        Ok(stat) => Ok(usize::try_from(stat.size).ok() == Some(content.len())
            && stat.modification_time.as_deref().and_then(unix_seconds)
                == i64::try_from(stamp(content)).ok()),
        Err(e) if super::container::is_not_found(&e) && is_missing_path(&e) => Ok(false),
        Err(e) => Err(Error::docker(format!("stat {path} in {container}"), e)),
    }
}

/// What the engine says about a path in a container, without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathStat {
    pub size: i64,
    /// Modification time, nanoseconds since the epoch.
    pub modified: Option<i128>,
    pub is_dir: bool,
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
        })),
        Err(e) if super::container::is_not_found(&e) && is_missing_path(&e) => Ok(None),
        Err(e) => Err(Error::docker(format!("stat {path} in {container}"), e)),
    }
}

/// The bytes of one file in the container; `None` when it does not exist.
pub async fn read_file(docker: &Docker, container: &str, path: &str) -> Result<Option<Vec<u8>>> {
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
    fn stamps_differ_with_content_and_stay_in_range() {
        assert_ne!(stamp("a"), stamp("b"));
        assert!((1_000_000_000..2_000_000_000).contains(&stamp("")));
    }
}
