//! Stand-ins for parts that cannot run on these machines, each named as one and strict about
//! the protocol it speaks. `bin/` holds those that run as programs (the kind CLI).

pub mod docker_hub;
