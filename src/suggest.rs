//! "Did you mean …?": the known name closest to a mistyped one, for config keys and script calls.

/// The candidate closest to `typed`, when it is close enough to be a typo of it.
pub fn closest<'a>(typed: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|k| (strsim::damerau_levenshtein(typed, k), k))
        .filter(|(distance, k)| *distance <= 2.max(k.len() / 4) && *distance < k.len())
        .min()
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_names_only() {
        let known = ["enabled", "upstreams", "remotes"];
        assert_eq!(closest("upstream", known), Some("upstreams"));
        assert_eq!(closest("enabeld", known), Some("enabled"));
        assert_eq!(closest("colour", known), None);
        assert_eq!(closest("ensur", ["ensure", "remove"]), Some("ensure"));
        assert_eq!(closest("zzzzzz", ["ensure"]), None);
    }
}
