//! The single values a config names, each checked as what reads it would: kind's cluster and
//! context names, Docker's container and image names, endpoint URLs, Go durations.

/// A kind cluster name: lowercase letters, digits, `-` and `.`.
pub(super) fn cluster_name(name: &str) -> Result<(), String> {
    let ok = name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.len() <= 50;
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a kind cluster name; use lowercase letters, digits, `-` and `.` (at \
             most 50), e.g. \"brrt-dev\""
        ))
    }
}

/// A kubeconfig context name: any text without spaces or control characters.
pub(super) fn context_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Err(format!(
            "`{name}` is not a kubeconfig context name; use the name `kubectl config \
             get-contexts` lists, e.g. \"kind-brrt-dev\""
        ))
    } else {
        Ok(())
    }
}

/// A name Docker accepts for a container or a network, which also serves as a host name on
/// the network.
pub fn docker_name(name: &str) -> Result<(), String> {
    let ok = name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_')
        && name.len() <= 63;
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a name Docker accepts; use letters, digits, `-`, `_` and `.` (at \
             most 63, starting with a letter or digit), e.g. \"kind-registry\""
        ))
    }
}

pub(super) fn image_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.contains(char::is_whitespace) {
        Err(format!(
            "`{name}` is not an image reference, e.g. \"registry:3\""
        ))
    } else {
        Ok(())
    }
}

/// A team cache's endpoint: an http:// or https:// URL with a host, and optionally the path of
/// its API (`https://cache.team.example/v2/dockerhub`); no query, fragment or credentials.
pub(super) fn endpoint(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("must be an http:// or https:// URL, not `{url}`"))?;
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() || url.contains(char::is_whitespace) {
        return Err(format!("must be a URL with a host, not `{url}`"));
    }
    if host.contains('@') {
        return Err(
            "must not hold credentials; they come from BRRT_<UPSTREAM>_USERNAME and _PASSWORD"
                .into(),
        );
    }
    if url.contains(['?', '#']) {
        return Err(format!(
            "must be a plain URL, without `?` or `#`, not `{url}`"
        ));
    }
    Ok(())
}

/// A Go duration as distribution reads it: `168h`, `30m`, `1h30m`.
pub(super) fn duration(text: &str) -> Result<(), String> {
    match crate::ops::timestamp::go_duration_nanos(text) {
        Some(_) => Ok(()),
        None if text.trim().is_empty() => {
            Err("the duration is empty; write it like \"168h\"".into())
        }
        None => Err(format!(
            "`{text}` is not a duration; write it like \"168h\" or \"1h30m\""
        )),
    }
}
