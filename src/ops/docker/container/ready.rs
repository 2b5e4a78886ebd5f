//! When a started container counts as up: it runs, answers over HTTP if asked to, and keeps
//! running.

use super::inspect_container;
use bollard::Docker;
use std::time::{Duration, Instant};

/// When a started container counts as up.
#[derive(Debug, Clone)]
pub enum Ready {
    /// The engine says it runs.
    Running,
    /// `GET path` on the loopback port published for `container_port` (`5000/tcp`) gets an
    /// HTTP answer within `within`.
    Http {
        container_port: &'static str,
        path: &'static str,
        within: Duration,
    },
}

/// Watches a container that has just passed its readiness check for `period`: it must keep
/// running without a restart, or the reason is returned.
pub(super) async fn stays_up(docker: &Docker, name: &str, period: Duration) -> Result<(), String> {
    let until = Instant::now() + period;
    loop {
        match still_up(docker, name).await? {
            Up::Yes(_) => {}
            Up::Restarted => {
                return Err(format!(
                    "it answered, then restarted within {} s",
                    period.as_secs()
                ))
            }
            Up::Stopped(status) => {
                return Err(format!(
                    "it answered, then stopped within {} s ({status})",
                    period.as_secs()
                ))
            }
        }
        if Instant::now() >= until {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until a started container passes `ready`, or says why it did not. A container that
/// stopped or restarted in the meantime has failed.
pub(super) async fn wait_ready(docker: &Docker, name: &str, ready: &Ready) -> Result<(), String> {
    let (container_port, path, within) = match ready {
        Ready::Running => (None, "", Duration::from_secs(2)),
        Ready::Http {
            container_port,
            path,
            within,
        } => (Some(*container_port), *path, *within),
    };
    let deadline = Instant::now() + within;
    let http = crate::ops::http_client::builder()
        .timeout(Duration::from_secs(1))
        .build()
        .map_err(|e| e.to_string())?;
    loop {
        let state = match still_up(docker, name).await? {
            Up::Yes(state) => state,
            Up::Restarted => return Err("it keeps restarting".into()),
            Up::Stopped(status) => return Err(format!("it stopped ({status})")),
        };
        let Some(port) = container_port else {
            return Ok(());
        };
        if let Some(addr) = state.ports.get(port) {
            let answered = http
                .get(format!(
                    "{}{path}",
                    crate::ops::loopback::loopback_url(addr)
                ))
                .send()
                .await
                .is_ok_and(|r| r.status().as_u16() < 500);
            if answered {
                return Ok(());
            }
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "it did not answer {path} within {} s",
                within.as_secs()
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Whether a started container is still up, as one inspect sees it.
enum Up {
    Yes(Box<super::ContainerState>),
    /// It restarted (or is restarting): its process exited at least once.
    Restarted,
    /// It stopped, with the engine's status.
    Stopped(String),
}

async fn still_up(docker: &Docker, name: &str) -> Result<Up, String> {
    let state = inspect_container(docker, name)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "it disappeared".to_string())?;
    Ok(if state.restart_count > 0 || state.status == "restarting" {
        Up::Restarted
    } else if !state.running {
        Up::Stopped(state.status)
    } else {
        Up::Yes(Box::new(state))
    })
}
