//! Waiting until every node of the cluster reports `Ready`, as kubelet does once the node's
//! network and runtime are up.

use super::Cluster;
use crate::ops::{Error, Result};
use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, ListParams};
use serde::Serialize;
use std::time::{Duration, Instant};

/// How often the nodes are asked again.
const POLL: Duration = Duration::from_millis(500);

/// The nodes that were ready, and how long it took.
#[derive(Debug, Clone, Serialize)]
pub struct NodesReady {
    pub nodes: Vec<String>,
    pub waited_ms: u64,
}

/// One node's name and, when it is not ready, why (the Ready condition's reason and message).
fn readiness(node: &Node) -> (String, Option<String>) {
    let name = node.metadata.name.clone().unwrap_or_default();
    let ready = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"));
    match ready {
        Some(c) if c.status == "True" => (name, None),
        Some(c) => {
            let why = [c.reason.as_deref(), c.message.as_deref()]
                .into_iter()
                .flatten()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(": ");
            (
                name,
                Some(if why.is_empty() {
                    "not ready".into()
                } else {
                    why
                }),
            )
        }
        None => (name, Some("no Ready condition yet".into())),
    }
}

/// Waits until the cluster has nodes and every one of them is Ready, saying on stderr how
/// many are ready whenever that changes. After `timeout`, the error names the nodes that are
/// not ready and why.
pub async fn wait_nodes_ready(cluster: &Cluster, timeout: Duration) -> Result<NodesReady> {
    let api: Api<Node> = Api::all(cluster.client.clone());
    let start = Instant::now();
    let mut last_said = String::new();
    loop {
        let list = api
            .list(&ListParams::default())
            .await
            .map_err(|e| cluster.error("list the nodes", e))?;
        let nodes: Vec<(String, Option<String>)> = list.items.iter().map(readiness).collect();
        let waiting: Vec<String> = nodes
            .iter()
            .filter_map(|(n, why)| why.as_ref().map(|w| format!("{n} ({w})")))
            .collect();
        if !nodes.is_empty() && waiting.is_empty() {
            return Ok(NodesReady {
                nodes: nodes.into_iter().map(|(n, _)| n).collect(),
                waited_ms: u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
            });
        }
        let status = if nodes.is_empty() {
            "no node has registered yet".to_string()
        } else {
            format!(
                "{} of {} ready; waiting for {}",
                nodes.len() - waiting.len(),
                nodes.len(),
                waiting.join(", ")
            )
        };
        if start.elapsed() >= timeout {
            return Err(Error::Other(format!(
                "the nodes of context `{}` are not ready after {}s: {status}. See `kubectl \
                 --context {} describe nodes`",
                cluster.context,
                timeout.as_secs(),
                cluster.context
            )));
        }
        if status != last_said {
            tracing::info!("waiting for the nodes: {status}");
            last_said = status;
        }
        tokio::time::sleep(POLL).await;
    }
}
