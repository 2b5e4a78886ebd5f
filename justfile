# brrt's everyday commands. Each brrt recipe is one `brrt` call, so `just --dry-run RECIPE`
# shows exactly what it runs, and anything here can be typed by hand.
#
#   BRRT=target/debug/brrt just dev-up     use another binary (the tests point it at theirs)
#   just config=ci/brrt.toml dev-up        use another config (or BRRT_CONFIG=ci/brrt.toml)

brrt := env_var_or_default("BRRT", "brrt")
config := env_var_or_default("BRRT_CONFIG", "brrt.toml")

# List the recipes.
default:
    @{{ quote(just_executable()) }} --justfile {{ quote(justfile()) }} --list

# The same flow as dev-up. With no kind cluster running, it brings up the push registry and the
# caches and says that no node is wired; run dev-up once the cluster exists to wire the nodes.
dev-registry:
    {{ brrt }} run scripts/dev-up.rhai --set config={{ config }}

# Reconcile the push registry, the caches and every kind node's mirrors with brrt.toml.
dev-up:
    {{ brrt }} run scripts/dev-up.rhai --set config={{ config }}

# `purge=true` is taken as `true`: after a recipe name just passes it on as the value "purge=true".
# Remove mirrors, caches and the push registry; `just dev-down true` deletes their volumes too.
dev-down purge="false":
    {{ brrt }} run scripts/dev-down.rhai --set config={{ config }} --set purge={{ trim_start_match(purge, "purge=") }}

# dev-up, then again on every change of brrt.toml or the scripts (on_busy: queue or restart).
watch on_busy="queue":
    {{ brrt }} run --watch --on-busy {{ on_busy }} scripts/dev-up.rhai --set config={{ config }}

# The images each cache holds, or only UPSTREAM's (e.g. `just cache-ls docker.io`).
cache-ls upstream="":
    {{ brrt }} run scripts/cache.rhai --set config={{ config }} -- ls {{ upstream }}

# Bytes on disk per cache.
cache-du:
    {{ brrt }} run scripts/cache.rhai --set config={{ config }} -- du

# Empty every cache, or only UPSTREAM's; the cache containers stay up.
cache-clear upstream="":
    {{ brrt }} run scripts/cache.rhai --set config={{ config }} -- clear {{ upstream }}

# Hits, misses, hit ratio and bytes saved per cache (`just cache-stats --json | jq`).
cache-stats *args:
    {{ brrt }} run scripts/cache.rhai --set config={{ config }} -- stats {{ args }}

# Follow every cache's log, or only UPSTREAM's: each request marked hit or miss. Ctrl-C stops.
cache-logs upstream="":
    {{ brrt }} run scripts/cache.rhai --set config={{ config }} -- logs {{ upstream }}

# Pull images into the caches: cache.warm, and those named in manifests, folders and lists
# (`just cache-warm k8s/ images.txt`; without paths, cache.warm_files from the config).
cache-warm *paths:
    {{ brrt }} run scripts/cache.rhai --set config={{ config }} -- warm {{ paths }}

# Diagnose the registries, the caches and the cluster wiring.
doctor:
    {{ brrt }} run scripts/doctor.rhai --set config={{ config }}

# Compile every flow script without running it.
check:
    {{ brrt }} check scripts/*.rhai scripts/lib/*.rhai

# The whole test suite (tests that need Docker skip without an engine, and say so).
test:
    cargo test

# Run the benchmarks that exist.
bench:
    @if [ -f benches/startup.sh ]; then BRRT={{ brrt }} bash benches/startup.sh; else echo "no benches/startup.sh"; fi
    @if [ -f benches/dev_up_noop.sh ]; then BRRT={{ brrt }} bash benches/dev_up_noop.sh; else echo "no benches/dev_up_noop.sh"; fi
    @if [ -f benches/watch_latency.sh ]; then BRRT={{ brrt }} bash benches/watch_latency.sh; else echo "no benches/watch_latency.sh"; fi
    @if [ -f benches/plugin.sh ]; then BRRT={{ brrt }} bash benches/plugin.sh; else echo "no benches/plugin.sh"; fi
    @if [ -f benches/warm_vs_cold.sh ]; then BRRT={{ brrt }} bash benches/warm_vs_cold.sh; else echo "no benches/warm_vs_cold.sh"; fi
    @if [ -f benches/warm_rerun.sh ]; then BRRT={{ brrt }} bash benches/warm_rerun.sh; else echo "no benches/warm_rerun.sh"; fi
    @if [ -f benches/cold_fanout.sh ]; then BRRT={{ brrt }} bash benches/cold_fanout.sh; else echo "no benches/cold_fanout.sh"; fi
    @if [ -f benches/seed_stack.sh ]; then BRRT={{ brrt }} bash benches/seed_stack.sh; else echo "no benches/seed_stack.sh"; fi

# Needs the wasm target once: `rustup target add wasm32-unknown-unknown`.
# Build the WASM plugin plugins/examples/NAME into plugins/NAME.wasm, where `import "NAME"` finds it.
plugin-build name:
    cargo build --release --locked --target wasm32-unknown-unknown --manifest-path plugins/examples/{{ name }}/Cargo.toml --target-dir plugins/examples/{{ name }}/target
    cp plugins/examples/{{ name }}/target/wasm32-unknown-unknown/release/{{ replace(name, "-", "_") }}.wasm plugins/{{ name }}.wasm

# Install brrt from this checkout into ~/.cargo/bin.
install:
    cargo install --path . --locked
