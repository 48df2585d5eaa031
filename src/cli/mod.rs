//! cli

pub mod embed;
