//! Work in progress.

pub mod rotation;
