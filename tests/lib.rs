//! Integration tests: one binary, each module a user's session with the real `brrt`.

mod support;

mod bad_input;
mod cache_insight;
mod check;
mod cli;
mod config_load;
mod config_schema;
mod docker_ensure;
mod docker_exec;
mod docker_network;
mod docker_unreachable;
mod imports;
mod integrations;
mod interrupt;
mod project_files;
mod registry_flows;
mod run_lock;
mod script_args;
mod watch;
