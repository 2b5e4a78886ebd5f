//! Docker engine operations (bollard): containers, networks, volumes and exec.
//!
//! Every change goes through an ensure-style function that compares what exists with what is
//! wanted and reports an [`Action`](crate::ops::Action).

mod client;
mod container;
mod endpoint;
mod exec;
mod files;
mod network;
mod port_holder;
mod volume;

pub use client::{connect, docker_host, ping, version, Engine, EngineVersion};
pub(crate) use container::is_not_found;
pub use container::{
    aside_name, containers_named, current_container, ensure_container, ensure_container_ready,
    ensure_image, finish_switch, follow, image_exists, inspect_container, is_current,
    list_containers, logs, remove_container, remove_keeping_volumes, rename_container,
    start_container, stop_container, switch_guard, switches_settled, ContainerOutcome,
    ContainerSpec, ContainerState, FinishedSwitch, Ready, ASIDE, MANAGED_LABEL, SPEC_HASH_LABEL,
};
pub use endpoint::{endpoint, Endpoint};
pub use exec::{exec, exec_command, ExecOutput};
pub use files::{
    file_holds, put_file, read_dir_files, read_file, read_small_files, read_stamp, stat_path,
    write_files_atomically, AroundWrite, PathStat, Stamp,
};
pub use network::{connect_network, disconnect_network, ensure_network, remove_network};
pub use port_holder::port_holder;
pub use volume::{
    ensure_volume, inspect_volume, list_volumes, path_size, remove_managed_volume, remove_volume,
    volume_size, volumes_named, VolumeInfo,
};
