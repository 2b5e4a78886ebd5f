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
        if c.ports
            .values()
            .any(|hp| hp.rsplit(':').next() == Some(&port.to_string()))
        {
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

/// Finds the listening process through /proc (Linux). None when it cannot tell.
fn process_on_port(port: u16) -> Option<String> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state), Some(inode)) = (cols.get(1), cols.get(3), cols.get(9))
            else {
                continue;
            };
            let local_port = local
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            if local_port == Some(port) && *state == "0A" {
                inodes.push(format!("socket:[{inode}]"));
            }
        }
    }
    if inodes.is_empty() {
        return None;
    }
    for proc_dir in std::fs::read_dir("/proc").ok()?.flatten() {
        let pid = proc_dir.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(proc_dir.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let target = std::fs::read_link(fd.path()).map(|t| t.to_string_lossy().into_owned());
            if target.is_ok_and(|t| inodes.contains(&t)) {
                let comm =
                    std::fs::read_to_string(proc_dir.path().join("comm")).unwrap_or_default();
                return Some(format!("process {} (pid {pid})", comm.trim()));
            }
        }
    }
    None
}
