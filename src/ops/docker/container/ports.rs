//! Published ports: parsing `HOST_IP:HOST_PORT:PORT`, and checking that a wanted host port is
//! free before anything is changed.

use super::ContainerState;
use crate::ops::docker::port_holder;
use crate::ops::{Error, Result};
use bollard::Docker;
use std::net::IpAddr;

/// One published port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PortSpec {
    pub host_ip: String,
    pub host_port: Option<u16>,
    pub container_port: u16,
    pub proto: String,
}

/// Parses a port as `docker run -p` takes it. The host IP, when given, must be an IP address:
/// Docker reads anything else (`localhost`, a typo) as "every address".
pub(crate) fn parse_port(text: &str) -> Result<PortSpec> {
    let bad = || {
        Error::InvalidSpec(format!(
            "port `{text}` should look like 127.0.0.1:5001:5000, 5001:5000, 127.0.0.1::5000 or 5000"
        ))
    };
    let (body, proto) = match text.split_once('/') {
        Some((b, p)) if p == "tcp" || p == "udp" => (b, p.to_string()),
        Some(_) => return Err(bad()),
        None => (text, "tcp".to_string()),
    };
    let parts: Vec<&str> = body.split(':').collect();
    let num = |s: &str| s.parse::<u16>().map_err(|_| bad());
    let (host_ip, host_port, container_port) = match parts.as_slice() {
        [c] => ("127.0.0.1".to_string(), None, num(c)?),
        [h, c] => ("127.0.0.1".to_string(), Some(num(h)?), num(c)?),
        [ip, h, c] => {
            let ip = if ip.eq_ignore_ascii_case("localhost") {
                "127.0.0.1".to_string()
            } else {
                ip.parse::<IpAddr>()
                    .map_err(|_| {
                        Error::InvalidSpec(format!(
                            "port `{text}`: `{ip}` is not an IP address; use 127.0.0.1 (this \
                             machine only) or 0.0.0.0 (every network)"
                        ))
                    })?
                    .to_string()
            };
            (ip, if h.is_empty() { None } else { Some(num(h)?) }, num(c)?)
        }
        _ => return Err(bad()),
    };
    Ok(PortSpec {
        host_ip,
        host_port,
        container_port,
        proto,
    })
}

/// Fails with who holds a wanted host port. Ports that `current` (the container about to be
/// re-created) publishes itself are free for the new one.
pub(super) async fn check_ports_free(
    docker: &Docker,
    name: &str,
    ports: &[String],
    current: Option<&ContainerState>,
) -> Result<()> {
    for p in ports {
        let port = parse_port(p)?;
        if let Some(host_port) = port.host_port {
            if current.is_some_and(|c| c.publishes(host_port)) {
                continue;
            }
            if let Some(holder) = port_holder(docker, &port.host_ip, host_port, name).await? {
                return Err(Error::PortInUse {
                    ip: port.host_ip,
                    port: host_port,
                    holder,
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_default_to_loopback() {
        let p = parse_port("5001:5000").unwrap();
        assert_eq!(
            (p.host_ip.as_str(), p.host_port, p.container_port),
            ("127.0.0.1", Some(5001), 5000)
        );
        let p = parse_port("0.0.0.0::5000/udp").unwrap();
        assert_eq!(
            (p.host_ip.as_str(), p.host_port, p.proto.as_str()),
            ("0.0.0.0", None, "udp")
        );
        assert_eq!(parse_port("localhost:1:2").unwrap().host_ip, "127.0.0.1");
        assert!(parse_port("abc").is_err());
        assert!(parse_port("1:2:3:4").is_err());
        assert!(parse_port("not-an-ip:5001:5000").is_err());
    }
}
