//! Integration tests: one binary, each module a user's session with the real `brrt`.

#[macro_use]
mod support;

mod adoption;
mod bad_input;
mod cache_insight;
mod check;
mod cli;
mod cluster_shapes;
mod cluster_side;
mod config_load;
mod config_schema;
mod docker_ensure;
mod docker_exec;
mod docker_network;
mod docker_unreachable;
mod engine_loss;
mod imports;
mod integrations;
mod interrupt;
mod layering;
mod migrate_ownership;
mod ownership;
mod plugins;
mod project_files;
mod pull_limit;
mod registry_flows;
mod registry_safety;
mod run_lock;
mod script_args;
mod shared_caches;
mod standins;
mod tilt_loop;
mod watch;
