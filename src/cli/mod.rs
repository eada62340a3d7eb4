//! The subcommands, one module each; [`common`] holds what they share.

pub(crate) mod client;
pub(crate) mod common;
pub(crate) mod compare;
pub(crate) mod interop;
pub(crate) mod keygen;
pub(crate) mod plot;
pub(crate) mod relay;
pub(crate) mod report;
pub(crate) mod server;
pub(crate) mod sweep;
pub(crate) mod unified;
