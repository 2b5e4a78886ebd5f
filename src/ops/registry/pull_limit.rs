//! An upstream's pull limit, as the upstream reports it (Docker Hub: anonymous pulls per IP
//! address, an account's per account, in a window of hours), and what to do when it runs out.
//!
//! Docker Hub sends `ratelimit-limit: 100;w=21600` and `ratelimit-remaining: 76;w=21600` on
//! manifest requests, `GET` and `HEAD` alike, and counts only a `GET` as a pull. So the check
//! is a `HEAD` of the manifest Docker documents for it (`ratelimitpreview/test:latest`), made
//! against the cache's remote (Docker Hub's real endpoint, or `[cache.remotes]`) with the
//! credentials the cache uses (`BRRT_<UPSTREAM>_USERNAME/_PASSWORD`), after the token dance the
//! cache makes: a `401` with `WWW-Authenticate: Bearer realm=…,service=…,scope=…`, then a token
//! from the realm, anonymous or with basic auth. It never counts as a pull.

use super::manifest::ACCEPT as MANIFEST_TYPES;
use super::USER_AGENT;
use crate::ops::upstream;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The repository and tag Docker documents for reading the limit.
pub const PROBE_REPO: &str = "ratelimitpreview/test";
const PROBE_TAG: &str = "latest";
/// How long the whole check may take: it runs on every dev-up.
const TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The shortest time a token is kept, as distribution keeps them.
const MIN_TOKEN_SECONDS: u64 = 60;

/// What an upstream says of its pull limit for the pulls a cache makes.
#[derive(Debug, Clone, Serialize)]
pub struct PullLimit {
    pub upstream: String,
    /// The remote asked, without any credentials in it.
    pub remote: String,
    /// Whether the remote is the upstream's own endpoint (not `[cache.remotes]`).
    pub own_remote: bool,
    /// Whose pulls the figures count: `anonymous` (per IP address) or `account` (the
    /// account in `BRRT_<UPSTREAM>_USERNAME`).
    pub who: String,
    pub limit: Option<u64>,
    pub remaining: Option<u64>,
    /// The window's length in seconds (`w=` of the headers).
    pub window: Option<u64>,
    /// `ok` (pulls left, or no limit), `low` (under 10% left), `used up`, `refused` (the
    /// credentials were refused) or `unknown` (the upstream could not be asked).
    pub status: String,
    /// How a flow reports it: `ok`, `warn`, `fail`, or `note` for a remote this machine cannot
    /// reach that the caches may (a `[cache.remotes]` name on the cluster network).
    pub level: String,
    /// One line for people: `docker.io: 76 of 100 pulls left in this 6 h window (anonymous,
    /// per IP)`, with what to do when few or none are left.
    pub text: String,
    /// Under 10% left now, and not at this process's previous check of this remote (the
    /// first check included): what dev-up warns about, once, and under `--watch` again only
    /// after it recovered.
    pub newly_low: bool,
    /// 10% or more left now, and under 10% at this process's previous check.
    pub recovered: bool,
}

/// The credential variables of an upstream as people read them:
/// `BRRT_DOCKER_IO_USERNAME/PASSWORD`.
fn credential_words(host: &str) -> String {
    let (user, _) = upstream::credential_vars(host);
    format!("{user}/PASSWORD")
}

/// What to do when the limit of an account's pulls runs out, in one clause.
fn account_advice(host: &str) -> String {
    format!(
        "warm images earlier with `cache warm`, use a team cache ([cache.shared]), or an \
         account with a higher limit in {}",
        credential_words(host)
    )
}

/// What to do when an upstream's pull limit runs out, in one clause.
pub fn advice(host: &str) -> String {
    format!(
        "log in through {} (then run dev-up), warm images earlier with `cache warm`, or use a \
         team cache ([cache.shared])",
        credential_words(host)
    )
}

/// `21600` → `6 h`.
fn window_words(seconds: u64) -> String {
    if seconds >= 3600 && seconds.is_multiple_of(3600) {
        format!("{} h", seconds / 3600)
    } else if seconds >= 60 && seconds.is_multiple_of(60) {
        format!("{} min", seconds / 60)
    } else {
        format!("{seconds} s")
    }
}

/// `100;w=21600` → (100, Some(21600)).
fn parse_quota(value: &str) -> Option<(u64, Option<u64>)> {
    let mut parts = value.split(';');
    let n = parts.next()?.trim().parse().ok()?;
    let w = parts
        .filter_map(|p| p.trim().strip_prefix("w="))
        .find_map(|w| w.trim().parse().ok());
    Some((n, w))
}

/// The scheme and parameters of a `WWW-Authenticate` challenge:
/// `Bearer realm="…",service="…"` → ("bearer", {realm, service}).
fn parse_challenge(header: &str) -> (String, BTreeMap<String, String>) {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let mut params = BTreeMap::new();
    let mut rest = rest.trim();
    while let Some(eq) = rest.find('=') {
        let key = rest[..eq]
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        rest = rest[eq + 1..].trim_start();
        let value;
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut out = String::new();
            let mut end = quoted.len();
            let mut chars = quoted.char_indices();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, n)) = chars.next() {
                            out.push(n);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => out.push(c),
                }
            }
            value = out;
            rest = quoted[end..].trim_start().trim_start_matches(',');
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            value = rest[..end].trim().to_string();
            rest = rest[end..].trim_start_matches(',');
        }
        params.insert(key, value);
        rest = rest.trim_start();
    }
    (scheme.to_ascii_lowercase(), params)
}

/// Whether credentials meant for `remote` may go to the token service at `realm`: the same
/// host, or (for names) the same registrable domain, as `auth.docker.io` is for
/// `registry-1.docker.io`. Never to another IP address or to `localhost`.
fn realm_may_have_credentials(remote: &reqwest::Url, realm: &reqwest::Url) -> bool {
    let (Some(a), Some(b)) = (remote.host_str(), realm.host_str()) else {
        return false;
    };
    let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
    if a == b {
        return true;
    }
    let literal =
        |h: &str| h == "localhost" || h.parse::<std::net::IpAddr>().is_ok() || h.starts_with('[');
    if literal(&a) || literal(&b) {
        return false;
    }
    let domain = |h: &str| {
        let labels: Vec<&str> = h.rsplit('.').take(2).collect();
        (labels.len() == 2).then(|| format!("{}.{}", labels[1], labels[0]))
    };
    domain(&a).is_some() && domain(&a) == domain(&b)
}

/// A token fetched in this process, kept for its lifetime: `--watch` checks on every save,
/// and a kept token spares the `401` and the token service.
#[derive(Clone)]
struct Kept {
    token: String,
    until: Instant,
    /// Whether it was issued for the account's credentials.
    as_account: bool,
}

/// Tokens by remote and user.
static TOKENS: Mutex<BTreeMap<String, Kept>> = Mutex::new(BTreeMap::new());
/// A check started ahead of time, and when.
type Started = (
    Instant,
    tokio::task::JoinHandle<crate::ops::Result<PullLimit>>,
);
/// Checks started ahead of time ([`start`]) by upstream and remotes.
static STARTED: Mutex<BTreeMap<String, Started>> = Mutex::new(BTreeMap::new());
/// The longest a flow waits for a check it started, counted from its start: the check must
/// never hold up a dev-up (an upstream that does not answer would cost its timeouts, three
/// requests long). A check that takes longer is dropped, and the flow says nothing of it.
const STARTED_BUDGET: Duration = Duration::from_secs(5);
/// Whether the previous check of each remote in this process found the limit low.
static WAS_LOW: Mutex<BTreeMap<String, bool>> = Mutex::new(BTreeMap::new());

/// Why the check could not read the figures.
enum Failure {
    /// The remote (or its token service) did not answer.
    Unreachable(String),
    /// The token service refused the credentials.
    Refused { realm: String, said: String },
    /// An answer the check cannot use.
    Unexpected(String),
}

/// What the final `HEAD` answered: its rate-limit headers, and whether an account's token was
/// used.
struct Answer {
    limit: Option<(u64, Option<u64>)>,
    remaining: Option<(u64, Option<u64>)>,
    source: Option<String>,
    as_account: bool,
}

fn started_key(host: &str, remotes: &BTreeMap<String, String>) -> String {
    format!("{host} {remotes:?}")
}

/// Starts [`check`] on `runtime` now, for the next [`check`] with the same arguments in this
/// process to take its answer: a flow asks early and reads it at its end, so the round trips
/// to the upstream overlap the flow's own work.
pub fn start(runtime: &tokio::runtime::Handle, host: &str, remotes: &BTreeMap<String, String>) {
    let (h, r) = (host.to_string(), remotes.clone());
    let task = runtime.spawn(async move { check_now(&h, &r).await });
    STARTED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(started_key(host, remotes), (Instant::now(), task));
}

/// Checks the pull limit of `host`'s remote (from `remotes`, the config's `cache.remotes`,
/// else the catalogue's endpoint) for the pulls its cache makes; takes the answer of a check
/// [`start`]ed with the same arguments when there is one.
pub async fn check(
    host: &str,
    remotes: &BTreeMap<String, String>,
) -> crate::ops::Result<PullLimit> {
    let started = STARTED
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .remove(&started_key(host, remotes));
    let Some((since, mut task)) = started else {
        return check_now(host, remotes).await;
    };
    let deadline = tokio::time::Instant::from_std(since + STARTED_BUDGET);
    match tokio::time::timeout_at(deadline, &mut task).await {
        Ok(Ok(found)) => found,
        // The task was cancelled or panicked: ask now, as if none had been started.
        Ok(Err(_)) => check_now(host, remotes).await,
        Err(_) => {
            task.abort();
            let up = upstream::resolve(host, remotes)?;
            let (remote, _) = upstream::without_credentials(up.remote.trim_end_matches('/'));
            Ok(PullLimit {
                upstream: host.to_string(),
                own_remote: up.server.as_deref() == Some(up.remote.as_str()),
                who: "anonymous".into(),
                limit: None,
                remaining: None,
                window: None,
                status: "unknown".into(),
                level: "warn".into(),
                text: format!(
                    "{host}: the pull limit was not checked: {remote} did not answer within {} s",
                    STARTED_BUDGET.as_secs()
                ),
                remote,
                newly_low: false,
                recovered: false,
            })
        }
    }
}

async fn check_now(
    host: &str,
    remotes: &BTreeMap<String, String>,
) -> crate::ops::Result<PullLimit> {
    let up = upstream::resolve(host, remotes)?;
    let (remote, _) = upstream::without_credentials(up.remote.trim_end_matches('/'));
    let own_remote = up.server.as_deref() == Some(up.remote.as_str());
    let credentials = upstream::credentials(host);
    let answer = ask(&remote, credentials.as_ref()).await;
    let (user_var, _) = upstream::credential_vars(host);
    let mut out = PullLimit {
        upstream: host.to_string(),
        remote: remote.clone(),
        own_remote,
        who: "anonymous".into(),
        limit: None,
        remaining: None,
        window: None,
        status: "unknown".into(),
        level: "warn".into(),
        text: String::new(),
        newly_low: false,
        recovered: false,
    };
    let answer = match answer {
        Ok(a) => a,
        Err(Failure::Refused { realm, said }) => {
            out.status = "refused".into();
            out.level = "fail".into();
            out.who = "account".into();
            out.text = format!(
                "{host}: {realm} refused the account in {}: {said}; the cache's pulls of new \
                 images fail too until they are right (then run dev-up)",
                credential_words(host)
            );
            return Ok(out);
        }
        Err(Failure::Unreachable(why)) | Err(Failure::Unexpected(why)) => {
            if own_remote {
                out.text = format!("{host}: the pull limit could not be checked: {why}");
            } else {
                out.level = "note".into();
                out.text = format!(
                    "{host}: the pull limit was not checked: {why}; the cache may reach it \
                     where this machine cannot, as [cache.remotes] names it"
                );
            }
            return Ok(out);
        }
    };
    let source_is_ip = answer
        .source
        .as_deref()
        .is_some_and(|s| s.parse::<std::net::IpAddr>().is_ok());
    let todo = if answer.as_account && !source_is_ip {
        account_advice(host)
    } else {
        advice(host)
    };
    let whose = if answer.as_account && !source_is_ip {
        out.who = "account".into();
        format!("the account in {user_var}")
    } else if answer.as_account {
        format!("anonymous, per IP: {remote} did not count the login in {user_var}")
    } else {
        "anonymous, per IP".to_string()
    };
    let (Some((limit, w1)), Some((remaining, w2))) = (answer.limit, answer.remaining) else {
        out.status = "ok".into();
        out.level = "ok".into();
        out.text = format!("{host}: {remote} reports no pull limit ({whose})");
        return Ok(out);
    };
    let window = w2.or(w1);
    let low = remaining.saturating_mul(10) < limit;
    out.limit = Some(limit);
    out.remaining = Some(remaining);
    out.window = window;
    let span = window.map_or("this window".to_string(), |w| {
        format!("this {} window", window_words(w))
    });
    out.text = format!("{host}: {remaining} of {limit} pulls left in {span} ({whose})");
    if remaining == 0 {
        out.status = "used up".into();
        out.level = "fail".into();
        out.text = format!(
            "{}: new images cannot be pulled through the cache until the window ends; {todo}",
            out.text
        );
    } else if low {
        out.status = "low".into();
        out.level = "warn".into();
        out.text = format!("{}; {todo}", out.text);
    } else {
        out.status = "ok".into();
        out.level = "ok".into();
    }
    let previous = WAS_LOW
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(format!("{host} {remote}"), low);
    out.newly_low = low && previous != Some(true);
    out.recovered = !low && previous == Some(true);
    Ok(out)
}

/// The `HEAD` of the probe manifest, with the token dance when the remote asks for it.
async fn ask(remote: &str, credentials: Option<&(String, String)>) -> Result<Answer, Failure> {
    // One client for the process: under --watch its connections are kept between checks.
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    let http = match CLIENT.get() {
        Some(c) => c,
        None => {
            let built = crate::ops::http_client::builder()
                .timeout(TIMEOUT)
                .connect_timeout(CONNECT_TIMEOUT)
                .user_agent(USER_AGENT)
                .build()
                .map_err(|e| Failure::Unexpected(e.to_string()))?;
            CLIENT.get_or_init(|| built)
        }
    };
    let url = format!("{remote}/v2/{PROBE_REPO}/manifests/{PROBE_TAG}");
    let remote_url =
        reqwest::Url::parse(remote).map_err(|e| Failure::Unexpected(format!("{remote}: {e}")))?;
    let head = |auth: Option<String>| {
        let mut req = http.head(&url).header("Accept", MANIFEST_TYPES);
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        req.send()
    };
    let unreachable = |e: reqwest::Error| {
        Failure::Unreachable(format!(
            "{remote} cannot be reached from this machine ({})",
            reason(&e)
        ))
    };
    let key = format!(
        "{remote} {}",
        credentials.map_or(String::new(), |(u, _)| u.clone())
    );
    let kept = TOKENS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(&key)
        .filter(|k| k.until > Instant::now())
        .cloned();
    let first = head(kept.as_ref().map(|k| format!("Bearer {}", k.token)))
        .await
        .map_err(unreachable)?;
    if first.status() != reqwest::StatusCode::UNAUTHORIZED {
        return Ok(read(&first, kept.is_some_and(|k| k.as_account)));
    }
    let challenge = first
        .headers()
        .get_all("www-authenticate")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(parse_challenge)
        .find(|(scheme, _)| scheme == "bearer" || scheme == "basic");
    let Some((scheme, params)) = challenge else {
        return Err(Failure::Unexpected(format!(
            "{remote} answered 401 without a challenge brrt can follow"
        )));
    };
    if scheme == "basic" {
        let Some((user, pass)) = credentials else {
            return Ok(read(&first, false));
        };
        use base64::Engine;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        let again = head(Some(format!("Basic {basic}")))
            .await
            .map_err(unreachable)?;
        if again.status() == reqwest::StatusCode::UNAUTHORIZED {
            return Err(Failure::Refused {
                realm: remote.to_string(),
                said: "401 Unauthorized".into(),
            });
        }
        return Ok(read(&again, true));
    }
    let realm = params.get("realm").ok_or_else(|| {
        Failure::Unexpected(format!(
            "{remote} asked for a token without naming its realm"
        ))
    })?;
    let mut token_url = reqwest::Url::parse(realm)
        .map_err(|e| Failure::Unexpected(format!("{remote} named the realm {realm:?}: {e}")))?;
    let scope = params
        .get("scope")
        .cloned()
        .unwrap_or_else(|| format!("repository:{PROBE_REPO}:pull"));
    {
        let mut q = token_url.query_pairs_mut();
        if let Some(service) = params.get("service") {
            q.append_pair("service", service);
        }
        q.append_pair("scope", &scope);
    }
    let send_credentials =
        credentials.filter(|_| realm_may_have_credentials(&remote_url, &token_url));
    let kept = fetch_token(http, token_url, realm, send_credentials).await?;
    TOKENS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(key, kept.clone());
    let token = kept.token;
    let answer = head(Some(format!("Bearer {token}")))
        .await
        .map_err(unreachable)?;
    if answer.status() == reqwest::StatusCode::UNAUTHORIZED {
        return Err(Failure::Unexpected(format!(
            "{remote} did not take the token from {realm} (401)"
        )));
    }
    Ok(read(&answer, send_credentials.is_some()))
}

/// A token from the token service at `token_url` (the realm, with service and scope), with
/// basic auth when `credentials` are given.
async fn fetch_token(
    http: &reqwest::Client,
    token_url: reqwest::Url,
    realm: &str,
    credentials: Option<&(String, String)>,
) -> Result<Kept, Failure> {
    let mut req = http.get(token_url);
    if let Some((user, pass)) = credentials {
        req = req.basic_auth(user, Some(pass));
    }
    let resp = req.send().await.map_err(|e| {
        Failure::Unreachable(format!(
            "its token service {realm} cannot be reached from this machine ({})",
            reason(&e)
        ))
    })?;
    let status = resp.status();
    let body = resp.bytes().await.unwrap_or_default();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    if status == reqwest::StatusCode::UNAUTHORIZED && credentials.is_some() {
        let said = json["details"]
            .as_str()
            .or_else(|| json["errors"][0]["message"].as_str())
            .map_or_else(
                || status.to_string(),
                |d| format!("{} {d}", status.as_u16()),
            );
        return Err(Failure::Refused {
            realm: realm.to_string(),
            said,
        });
    }
    if !status.is_success() {
        return Err(Failure::Unexpected(format!(
            "the token service {realm} answered {status}"
        )));
    }
    let token = json["token"]
        .as_str()
        .or_else(|| json["access_token"].as_str())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Failure::Unexpected(format!("the token service {realm} sent no token")))?
        .to_string();
    let life = json["expires_in"]
        .as_u64()
        .unwrap_or(0)
        .max(MIN_TOKEN_SECONDS);
    Ok(Kept {
        token,
        until: Instant::now() + Duration::from_secs(life),
        as_account: credentials.is_some(),
    })
}

fn read(resp: &reqwest::Response, as_account: bool) -> Answer {
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    Answer {
        limit: header("ratelimit-limit").as_deref().and_then(parse_quota),
        remaining: header("ratelimit-remaining")
            .as_deref()
            .and_then(parse_quota),
        source: header("docker-ratelimit-source"),
        as_account,
    }
}

/// What a failed request says, innermost cause included.
fn reason(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return format!("no answer within {} s", TIMEOUT.as_secs());
    }
    let mut inner: &dyn std::error::Error = e;
    while let Some(next) = inner.source() {
        inner = next;
    }
    inner.to_string()
}

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
    use super::activity::{activity, parse_logfmt, Activity};
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
    let image = format!("{repo}{sep}{}", super::activity::short_digest(&reference));
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

    /// A remote that takes the connection and never answers costs a flow that started the
    /// check at most [`STARTED_BUDGET`], not the requests' timeouts.
    #[test]
    fn a_started_check_of_a_remote_that_never_answers_is_dropped_after_its_budget() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let remote = format!("http://{}", listener.local_addr().unwrap());
        let remotes = BTreeMap::from([("docker.io".to_string(), remote.clone())]);
        start(runtime.handle(), "docker.io", &remotes);
        let found = runtime.block_on(check("docker.io", &remotes)).unwrap();
        assert_eq!(found.status, "unknown");
        assert_eq!(
            found.text,
            format!(
                "docker.io: the pull limit was not checked: {remote} did not answer within 5 s"
            )
        );
        drop(listener);
    }

    #[test]
    fn quotas_and_windows_read_as_docker_hub_writes_them() {
        assert_eq!(parse_quota("100;w=21600"), Some((100, Some(21600))));
        assert_eq!(parse_quota("76"), Some((76, None)));
        assert_eq!(parse_quota("x;w=1"), None);
        assert_eq!(window_words(21600), "6 h");
        assert_eq!(window_words(3600), "1 h");
        assert_eq!(window_words(600), "10 min");
        assert_eq!(window_words(90), "90 s");
    }

    #[test]
    fn challenges_are_read_with_their_quoted_commas() {
        let (scheme, p) = parse_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull,push""#,
        );
        assert_eq!(scheme, "bearer");
        assert_eq!(p["realm"], "https://auth.docker.io/token");
        assert_eq!(p["service"], "registry.docker.io");
        assert_eq!(p["scope"], "repository:a/b:pull,push");
        let (scheme, p) = parse_challenge(r#"Basic realm="Registry Realm""#);
        assert_eq!(
            (scheme.as_str(), p["realm"].as_str()),
            ("basic", "Registry Realm")
        );
    }

    #[test]
    fn credentials_go_to_the_remotes_own_token_service_only() {
        let url = |u: &str| reqwest::Url::parse(u).unwrap();
        let hub = url("https://registry-1.docker.io");
        assert!(realm_may_have_credentials(
            &hub,
            &url("https://auth.docker.io/token")
        ));
        assert!(!realm_may_have_credentials(
            &hub,
            &url("https://auth.example.com/token")
        ));
        let ip = url("http://192.0.2.1:5000");
        assert!(realm_may_have_credentials(
            &ip,
            &url("http://192.0.2.1:5000/token")
        ));
        assert!(!realm_may_have_credentials(
            &ip,
            &url("http://192.0.2.2/token")
        ));
    }

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

    #[test]
    fn the_advice_names_the_upstreams_variables() {
        assert!(advice("docker.io").starts_with("log in through BRRT_DOCKER_IO_USERNAME/PASSWORD"));
    }
}
