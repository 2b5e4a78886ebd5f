//! What a container printed.

use crate::ops::{Error, Result};
use bollard::query_parameters::LogsOptionsBuilder;
use bollard::Docker;
use futures_util::StreamExt;

/// The last `tail` lines of a container's output (stdout and stderr).
pub async fn logs(docker: &Docker, name: &str, tail: usize) -> Result<String> {
    let opts = LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .tail(&tail.to_string())
        .build();
    let mut stream = docker.logs(name, Some(opts));
    let mut out = String::new();
    while let Some(item) = stream.next().await {
        let chunk = item.map_err(|e| Error::docker(format!("logs of {name}"), e))?;
        out.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
    }
    Ok(out)
}

/// A container's output from now on (stdout and stderr), until it stops or the stream is
/// dropped: what `docker logs -f --tail 0` shows.
pub fn follow(
    docker: &Docker,
    name: &str,
) -> impl futures_util::Stream<
    Item = std::result::Result<bollard::container::LogOutput, bollard::errors::Error>,
> + use<> {
    let opts = LogsOptionsBuilder::default()
        .follow(true)
        .stdout(true)
        .stderr(true)
        .tail("0")
        .build();
    docker.logs(name, Some(opts))
}
