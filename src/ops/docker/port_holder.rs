//! Who holds a host port: a container (by name) or a local process (by pid and command).

use crate::ops::docker::list_containers;
use crate::ops::Result;
use bollard::Docker;

/// `Some(description)` of whoever holds `ip:port`, ignoring the container named `except`.
pub async fn port_holder(
    docker: &Docker,
    ip: &str,
    port: u16,
    except: &str,
) -> Result<Option<String>> {
    for c in list_containers(docker, &[]).await? {
        if c.name == except || !c.running {
            continue;
        }
        if c.publishes(port) {
            return Ok(Some(format!("container `{}`", c.name)));
        }
    }
    let bind_ip = if ip.is_empty() { "0.0.0.0" } else { ip };
    match std::net::TcpListener::bind((bind_ip, port)) {
        Ok(_) => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            Ok(Some(process_on_port(port).unwrap_or_else(|| {
                "another process on this host".to_string()
            })))
        }
        Err(_) => Ok(None),
    }
}

/// The process listening on `port`, by name and pid, when the system tells.
fn process_on_port(port: u16) -> Option<String> {
    let p = listeners::get_process_by_port(port, listeners::Protocol::TCP).ok()?;
    Some(format!("process {} (pid {})", p.name, p.pid))
}
