//! Reading and writing small text files inside a container.
//!
//! Reads use the engine's archive API, which starts no process in the container and so costs a
//! few milliseconds. Writes upload each file under a temporary name, then rename them all in one
//! `sh` call, so a reader (containerd) never sees a half-written file.

use crate::ops::docker::exec;
use crate::ops::{Error, Result};
use bollard::query_parameters::{
    DownloadFromContainerOptionsBuilder, UploadToContainerOptionsBuilder,
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

/// Writes `files` (absolute path → content) atomically and deletes `remove` (absolute paths),
/// in one upload and one `sh` call. Parent directories are created as needed.
pub async fn write_files_atomically(
    docker: &Docker,
    container: &str,
    files: &BTreeMap<String, String>,
    remove: &[String],
) -> Result<()> {
    if files.is_empty() && remove.is_empty() {
        return Ok(());
    }
    let mut script = String::from("set -e\n");
    if !files.is_empty() {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, content) in files {
            let tmp = temp_name(path);
            let mut header = tar::Header::new_gnu();
            header.set_size(content.len() as u64);
            header.set_mode(0o644);
            header.set_mtime(0);
            header.set_cksum();
            builder
                .append_data(&mut header, tmp.trim_start_matches('/'), content.as_bytes())
                .map_err(|e| Error::Other(format!("pack {path}: {e}")))?;
            script.push_str(&format!(
                "mv -f {} {}\n",
                shell_quote(&tmp),
                shell_quote(path)
            ));
        }
        let tar = builder
            .into_inner()
            .map_err(|e| Error::Other(format!("pack files: {e}")))?;
        let opts = UploadToContainerOptionsBuilder::default().path("/").build();
        docker
            .upload_to_container(container, Some(opts), bollard::body_full(tar.into()))
            .await
            .map_err(|e| Error::docker(format!("write files into {container}"), e))?;
    }
    for path in remove {
        script.push_str(&format!("rm -f {}\n", shell_quote(path)));
        if let Some((dir, _)) = path.rsplit_once('/') {
            script.push_str(&format!("rmdir {} 2>/dev/null || true\n", shell_quote(dir)));
        }
    }
    let cmd = vec!["sh".to_string(), "-c".to_string(), script];
    let out = exec(docker, container, &cmd).await?;
    if out.code != 0 {
        return Err(Error::ExecFailed {
            container: container.into(),
            command: "sh -c 'mv … && rm …'".into(),
            code: out.code,
            stderr: out.stderr.trim().to_string(),
        });
    }
    Ok(())
}

fn temp_name(path: &str) -> String {
    match path.rsplit_once('/') {
        Some((dir, file)) => format!("{dir}/.{file}.brrt-tmp"),
        None => format!(".{path}.brrt-tmp"),
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}
