//! The panels and tabs of the workbench. Each reads the [`Workbench`](crate::session::Workbench)
//! and pushes [`Command`](crate::session::Command)s; none changes engine state directly.

pub mod compare;
pub mod data;
pub mod data_files;
pub mod dialogs;
pub mod evaluate;
pub mod explore;
pub mod heatmap;
pub mod inspector;
pub mod left;
pub mod live;
pub mod notices;
pub mod present;
pub mod recommend;
pub mod rules;
pub mod status;
pub mod widgets;
