//! Images: present locally, or pulled, before anything that needs them is changed.

use crate::ops::{Error, Result};
use bollard::query_parameters::CreateImageOptionsBuilder;
use bollard::Docker;
use futures_util::StreamExt;

/// Makes sure `image` is on the engine: a no-op when it is, a pull when it is not. A missing
/// image is found out here, while whatever it would replace still runs.
pub async fn ensure_image(docker: &Docker, image: &str) -> Result<()> {
    if image_exists(docker, image).await? {
        return Ok(());
    }
    pull_image(docker, image).await
}

/// Whether `image` is on the engine.
pub async fn image_exists(docker: &Docker, image: &str) -> Result<bool> {
    match docker.inspect_image(image).await {
        Ok(_) => Ok(true),
        Err(e) if super::is_not_found(&e) => Ok(false),
        Err(e) => Err(Error::docker(format!("inspect image {image}"), e)),
    }
}

async fn pull_image(docker: &Docker, image: &str) -> Result<()> {
    tracing::info!("pulling image {image}");
    let opts = CreateImageOptionsBuilder::default()
        .from_image(image)
        .build();
    let mut stream = docker.create_image(Some(opts), None, None);
    while let Some(item) = stream.next().await {
        item.map_err(|e| {
            let reason = match e {
                bollard::errors::Error::DockerResponseServerError { message, .. } => message,
                other => other.to_string(),
            };
            Error::Other(format!(
                "image {image} is not on this engine and cannot be pulled: {reason}. Check the \
                 image name in the config, or pull or build it first"
            ))
        })?;
    }
    Ok(())
}
