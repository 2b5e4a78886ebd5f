//! Pulls an upstream refused a cache for its pull limit (`429 TOOMANYREQUESTS`), counted from
//! the cache's log.

use super::advice;
use serde::Serialize;

/// How many of a cache's last log lines are searched for refused pulls.
pub const LOG_LINES: usize = 2000;

/// Pulls an upstream refused a cache for its pull limit, as the cache's log tells.
#[derive(Debug, Clone, Serialize)]
pub struct Refused {
    /// Requests refused (a pull a node retries is several).
    pub count: u64,
    /// When the last one was, `2026-12-07 17:09:44 UTC`.
    pub last_at: String,
    /// What the last one asked for, `library/redis:7`.
    pub image: String,
    /// One line for people, with what to do.
    pub text: String,
}

/// The pulls `upstream` refused cache `container` with `429 TOOMANYREQUESTS` in its last
/// [`LOG_LINES`] log lines (since it started), if any.
pub async fn refused(
    d: &bollard::Docker,
    container: &str,
    upstream: &str,
) -> crate::ops::Result<Option<Refused>> {
    let log = crate::ops::docker::logs(d, container, LOG_LINES).await?;
    Ok(refused_in(&log, container, upstream))
}

fn refused_in(log: &str, container: &str, upstream: &str) -> Option<Refused> {
    use crate::ops::registry::activity::{activity, Activity};
    use crate::ops::registry::logfmt::parse_logfmt;
    let mut count = 0;
    let mut last = None;
    for line in log.lines() {
        let Some(fields) = parse_logfmt(line) else {
            continue;
        };
        if let Some(Activity::Served {
            too_many: true,
            repo,
            reference,
            ..
        }) = activity(&fields)
        {
            count += 1;
            let at = fields.get("time").cloned().unwrap_or_default();
            last = Some((at, repo, reference));
        }
    }
    let (at, repo, reference) = last?;
    let sep = if reference.contains(':') { '@' } else { ':' };
    let image = format!(
        "{repo}{sep}{}",
        crate::ops::registry::activity::short_digest(&reference)
    );
    let last_at = match at.get(..19) {
        Some(t) => format!("{} UTC", t.replace('T', " ")),
        None => at,
    };
    let times = if count == 1 {
        "1 request".to_string()
    } else {
        format!("{count} requests")
    };
    let text = format!(
        "{container}: {upstream} refused {times} with 429 TOOMANYREQUESTS, the last at \
         {last_at} ({image}): its pull limit was used up; {}",
        advice(upstream)
    );
    Some(Refused {
        count,
        last_at,
        image,
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_counted_from_the_log() {
        let v3 = r#"time="2026-12-07T17:09:44.396079384Z" level=error msg="response completed with error" err.code=toomanyrequests err.message="You have reached your pull rate limit." http.request.method=GET http.request.uri=/v2/library/hello/manifests/1 http.response.duration=12ms http.response.status=429 vars.name=library/hello"#;
        let ok = r#"time="2026-12-07T17:09:45Z" level=info msg="response completed" http.request.method=GET http.request.uri=/v2/library/hello/manifests/2 http.response.duration=1ms http.response.status=200"#;
        let log = format!("{v3}\n{ok}\n{}\n", v3.replace("manifests/1", "manifests/3"));
        let r = refused_in(&log, "c", "docker.io").unwrap();
        assert_eq!(
            (r.count, r.last_at.as_str(), r.image.as_str()),
            (2, "2026-12-07 17:09:44 UTC", "library/hello:3")
        );
        assert!(
            r.text
                .starts_with("c: docker.io refused 2 requests with 429 TOOMANYREQUESTS"),
            "{}",
            r.text
        );
        assert!(refused_in(ok, "c", "docker.io").is_none());
    }
}
