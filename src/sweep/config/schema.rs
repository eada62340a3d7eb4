//! The file as written: `bench-configs/*.toml` parsed by serde, before any value is checked.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

pub use super::keys::Matrix;

/// A scalar as written in TOML.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    /// `true`/`false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Text(String),
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Bool(b) => write!(f, "{b}"),
            Scalar::Int(i) => write!(f, "{i}"),
            Scalar::Float(x) => write!(f, "{x}"),
            Scalar::Text(s) => write!(f, "{s:?}"),
        }
    }
}

/// One value or a list of them.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Values {
    /// A list: every element is swept.
    Many(Vec<Scalar>),
    /// A single value.
    One(Scalar),
}

impl Values {
    /// The values, one for a single value.
    pub fn as_slice(&self) -> &[Scalar] {
        match self {
            Values::Many(v) => v,
            Values::One(s) => std::slice::from_ref(s),
        }
    }
}

/// A foreign server in `[peers]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerFile {
    /// Program and arguments; `{interop}` is replaced by the interop directory. It must print
    /// its `/p2p/` multiaddr as the first stdout line and serve `/perf/1.0.0`.
    pub command: Vec<String>,
    /// Extra client flags for the latency run against this peer.
    #[serde(default)]
    pub latency_client_args: Vec<String>,
    /// Extra server flags for `security = "plaintext"`; empty: the peer speaks Noise only.
    #[serde(default)]
    pub plaintext_args: Vec<String>,
    /// Extra server flags for `security = "tls"`; empty: the peer cannot.
    #[serde(default)]
    pub tls_args: Vec<String>,
    /// Extra server flags for `transport = "ws"` (the server then prints a `/ws` multiaddr);
    /// empty: the peer cannot.
    #[serde(default)]
    pub ws_args: Vec<String>,
}

/// A `[[override]]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverrideFile {
    /// Which cases: every key listed must have one of its values.
    #[serde(default)]
    pub when: Matrix,
    /// What to set (single values).
    pub set: Matrix,
}

/// A `bench-configs/*.toml` file as written.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepFile {
    /// Name of the sweep; default: the file's stem.
    pub name: Option<String>,
    /// What the sweep is for.
    pub description: Option<String>,
    /// What runs the cases: `relay` (default) or `sim`.
    pub engine: Option<crate::results::Engine>,
    /// Measured runs per case (default 3).
    pub repetitions: Option<u32>,
    /// Discarded runs before them (default 0).
    pub warmup: Option<u32>,
    /// Limit of one client run (default "300s").
    pub timeout: Option<String>,
    /// The client's interval (default "100ms").
    pub interval: Option<String>,
    /// The matrix.
    #[serde(default)]
    pub matrix: Matrix,
    /// Per-case changes.
    #[serde(default, rename = "override")]
    pub overrides: Vec<OverrideFile>,
    /// Cases to drop.
    #[serde(default)]
    pub exclude: Vec<Matrix>,
    /// Foreign servers, replacing or adding to the built-in ones.
    #[serde(default)]
    pub peers: BTreeMap<String, PeerFile>,
}
