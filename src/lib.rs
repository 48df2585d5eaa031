//! RecFuse: a workbench for e-commerce search and recommendation.
//!
//! The crate is a library with a thin binary (`src/main.rs`). Engine modules
//! ([`data`], [`embed`], [`score`], [`fusion`], [`eval`]) never depend on the GUI;
//! [`session`] ties them together behind commands; [`ui`] draws and sends commands;
//! [`jobs`] is the only place that starts threads; [`cli`] runs the same engine headless.

// No reachable panics in library code: no unwrap/expect, no unchecked indexing. Tests may.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic))]

pub mod bench;
pub mod cli;
pub mod data;
pub mod embed;
pub mod eval;
pub mod fusion;
pub mod jobs;
pub mod score;
pub mod session;
#[cfg(feature = "gui")]
pub mod ui;
