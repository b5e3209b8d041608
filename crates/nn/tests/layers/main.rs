//! Layers, modules, initialisation, losses and checkpoints of `wgrad-nn`
//! against plain CPU computations. One test binary, so one device.

mod activation;
mod checkpoint;
mod common;
mod conv;
mod derive;
mod init;
mod linear;
mod loss;
mod pool;
mod printing;
mod state_dict;
