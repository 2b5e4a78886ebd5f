//! The shell run in a node in the same call as a write: the guard that never lets a file brrt
//! did not write be lost, and the sweep of the managed files no longer wanted.

use super::{host_file, MANAGED_MARKER, ORIGINAL_SUFFIX};
use crate::ops::kind::CERTS_DIR;
use std::collections::BTreeSet;

/// What the guard prints on stderr before each host whose file it will not replace.
pub(super) const FOREIGN_NOTE: &str = "brrt-foreign-file: ";

/// Shell run before any file is written, in the same call: each host about to be written whose
/// hosts.toml brrt did not write is set aside as hosts.toml.brrt-original when it may be taken
/// over (never over an original kept already), and otherwise stops the whole write. So a file
/// that appears between the look and the write is never lost either. Host names were checked
/// to need no quoting.
pub(super) fn guard_script(written: &[String], take_over: &BTreeSet<String>) -> String {
    let mut script = String::new();
    for host in written {
        let f = host_file(host);
        let foreign = if take_over.contains(host) {
            format!(
                "if [ -e \"$f{ORIGINAL_SUFFIX}\" ]; then echo \"{FOREIGN_NOTE}{host}\" >&2; exit 3; fi; \
                 mv \"$f\" \"$f{ORIGINAL_SUFFIX}\""
            )
        } else {
            format!("echo \"{FOREIGN_NOTE}{host}\" >&2; exit 3")
        };
        script.push_str(&format!(
            "f='{f}'\n\
             if [ -f \"$f\" ]; then\n\
             \x20 first=; IFS= read -r first < \"$f\" || true\n\
             \x20 case \"$first\" in \"{MANAGED_MARKER}\"*) ;; *) {foreign} ;; esac\n\
             fi\n"
        ));
    }
    script
}

/// Shell that removes every brrt-managed hosts.toml whose host is not in `keep` (and its folder,
/// when empty), or puts back the original brrt kept beside it, printing each host. Host names
/// were checked to need no quoting.
pub(super) fn sweep_script(keep: &[&str]) -> String {
    let keep = keep.join(" ");
    format!(
        "for d in {CERTS_DIR}/*/; do\n\
         \x20 d=${{d%/}}; h=${{d##*/}}; f=\"$d/hosts.toml\"\n\
         \x20 case \" {keep} \" in *\" $h \"*) continue ;; esac\n\
         \x20 first=; [ -f \"$f\" ] && {{ IFS= read -r first < \"$f\" || true; }}\n\
         \x20 case \"$first\" in \"{MANAGED_MARKER}\"*) ours=1 ;; *) ours= ;; esac\n\
         \x20 if [ -f \"$f{ORIGINAL_SUFFIX}\" ]; then\n\
         \x20   if [ -n \"$ours\" ] || [ ! -e \"$f\" ]; then mv -f \"$f{ORIGINAL_SUFFIX}\" \"$f\"; echo \"$h\"; fi\n\
         \x20 elif [ -n \"$ours\" ]; then\n\
         \x20   rm -f \"$f\"; rmdir \"$d\" 2>/dev/null || true; echo \"$h\"\n\
         \x20 fi\n\
         done\n"
    )
}
