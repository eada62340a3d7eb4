//! The matrix keys, one line each: the TOML name, the [`CaseConfig`] field it sets, how its
//! value is parsed ([`Kind`]), its default, how it reaches the client and server commands
//! ([`Flag`]), which stacks it applies to ([`Scope`]) and how labels and plot legends show it
//! ([`Show`]) and whether the simulated engine models it ([`Sim`]). A new key is its
//! `CaseConfig` field plus one line in the table: the commands (`sweep::run::case_args`), the
//! label, the legends and the simulation's refusal follow from the line. Values are kept as the
//! JSON of that field, so a case is its assignment deserialized ([`mod@super::expand`]) and an
//! enum key parses through its type's names (clap's `ValueEnum`, the same lowercase strings as
//! serde).
//!
//! [`CaseConfig`]: crate::results::CaseConfig

use clap::ValueEnum;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::schema::{Scalar, Values};
use crate::perf::fairness::ShortFlows;
use crate::probe::ProbeKind;
use crate::results::{CaseConfig, Hosts, LatencyMode, Stack};
use crate::security::Security;
use crate::transport::TransportKind;
use crate::units::{ByteSize, Rate, parse_duration};
use crate::yamux::{AutotuneRule, WindowAccounting};

/// Largest RTT the relay is asked for (it buffers RTT × rate).
pub const MAX_RTT_MS: f64 = 10_000.0;
/// Most streams or connections per case.
const MAX_PARALLEL: i64 = 1024;
/// Most latency rounds per case.
const MAX_ROUNDS: i64 = 1_000_000;
/// Smallest socket buffer asked for (Linux rounds smaller requests up anyway).
const MIN_BUFFER: u64 = 4 << 10;
/// Largest socket buffer asked for (`setsockopt` takes an int; Linux caps requests at
/// `net.core.wmem_max`/`rmem_max`).
const MAX_BUFFER: u64 = 1 << 30;

/// `initial_window = "max_window"`: resolved to the case's max_window when the case is built.
pub(super) const SAME_AS_MAX_WINDOW: &str = "max_window";

/// How a key's value is written and parsed.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// A peer name.
    Peer,
    /// A duration, as ms (`"50ms"`, or 0).
    Ms,
    /// A rate (`"1Gbit"`, bits per second), or `"none"`.
    Rate,
    /// A size (`"64MiB"` or a byte count).
    Size,
    /// A size, or `"max_window"` (the initial window).
    Window,
    /// `true` or `false`.
    Bool,
    /// A count of streams or connections.
    Count,
    /// Latency rounds; 0 for none.
    Rounds,
    /// A socket buffer size, or `"auto"` for the kernel's autotuning.
    Buffer,
    /// One of the names of an enum ([`choices`]).
    Choice(fn() -> Vec<String>),
    /// A latency-under-load probe ([`ProbeKind`]'s names), or `"none"`.
    Probe,
    /// A duration, to ms; 0 is absent.
    Stagger,
    /// `COUNT:SIZE` ([`ShortFlows`]), or `"none"`.
    ShortFlows,
}

/// The names of `T`'s values, as flags and JSON spell them.
pub fn choices<T: ValueEnum>() -> Vec<String> {
    T::value_variants()
        .iter()
        .filter_map(|v| v.to_possible_value())
        .map(|p| p.get_name().to_string())
        .collect()
}

fn probe_choices() -> Vec<String> {
    choices::<ProbeKind>()
}

/// How a key reaches the `client` and `server` commands of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    /// Not a flag of both commands: the relay, the case plan or the client's own arguments
    /// take it.
    Elsewhere,
    /// `--flag <value>` on both commands, left out at the key's default.
    Value(&'static str),
    /// A bare flag on both commands when the value is `false` (the default is `true`).
    WhenFalse(&'static str),
    /// `--flag <value>` on the client's warm-up and measured runs only (not the server, not the
    /// latency run), the default included; left out when the value is absent (`null`).
    Load(&'static str),
}

/// Which cases a key applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every case.
    All,
    /// Only the libp2p stack: a bare-TCP case keeps the default, so that the key does not
    /// multiply its cases (the copies merge as identical cases).
    Yamux,
}

/// How a key shows in a case's label and in plot legends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Show {
    /// Written by hand in [`mod@super::label`] and the plots' dimensions.
    Custom,
    /// ` <name>=<value>` in the label and `<value> <name>` in a legend, when it differs from
    /// the default (the label) or between the plotted cases (the legend).
    Named(&'static str),
}

/// Whether the simulated engine (`engine = "sim"`, [`crate::sim`]) models a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sim {
    /// Modelled: the simulation runs the case with the key's value (a value it cannot run, such as
    /// several connections, is refused per case by `sim::check_case`).
    Modelled,
    /// Not modelled, and why: a config that sets the key anywhere is refused by name, never
    /// silently run without it.
    Refused(&'static str),
}

macro_rules! matrix_keys {
    ($($key:ident => $variant:ident: $field:literal, $kind:expr, $default:expr,
        $flag:expr, $scope:ident, $show:expr, $sim:expr;)*) => {
        /// The matrix keys; in `[matrix]`, `when`, `set` and `[[exclude]]`.
        #[derive(Debug, Clone, Default, PartialEq, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct Matrix {
            $(
                #[allow(missing_docs)]
                pub $key: Option<Values>,
            )*
        }

        /// A matrix key.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Key {
            $(
                #[allow(missing_docs)]
                $variant,
            )*
        }

        impl Key {
            /// Every key, in expansion order (first outermost).
            pub const ALL: &'static [Key] = &[$(Key::$variant),*];

            /// The TOML name.
            pub fn name(self) -> &'static str {
                match self {
                    $(Key::$variant => stringify!($key),)*
                }
            }

            /// The [`crate::results::CaseConfig`] field it sets.
            pub fn field(self) -> &'static str {
                match self {
                    $(Key::$variant => $field,)*
                }
            }

            /// How its value is parsed.
            pub fn kind(self) -> Kind {
                match self {
                    $(Key::$variant => $kind,)*
                }
            }

            /// The value used when the key is absent, as written in TOML.
            pub(super) fn default_scalar(self) -> Scalar {
                match self {
                    $(Key::$variant => $default,)*
                }
            }

            /// How it reaches the client and server commands.
            pub fn flag(self) -> Flag {
                match self {
                    $(Key::$variant => $flag,)*
                }
            }

            /// Which cases it applies to.
            pub fn scope(self) -> Scope {
                match self {
                    $(Key::$variant => Scope::$scope,)*
                }
            }

            /// How it shows in labels and legends.
            pub fn show(self) -> Show {
                match self {
                    $(Key::$variant => $show,)*
                }
            }

            /// Whether `engine = "sim"` models it.
            pub fn sim(self) -> Sim {
                match self {
                    $(Key::$variant => $sim,)*
                }
            }
        }

        impl Matrix {
            /// The keys that are set, in expansion order.
            pub fn entries(&self) -> Vec<(Key, &Values)> {
                let mut entries = Vec::new();
                $(
                    if let Some(v) = &self.$key {
                        entries.push((Key::$variant, v));
                    }
                )*
                entries
            }
        }
    };
}

fn text(s: &str) -> Scalar {
    Scalar::Text(s.into())
}

// A new key: its `CaseConfig` field, then one line here: TOML name => variant: field, how it
// parses, its default, how it reaches the commands, its scope, how it shows, whether the
// simulation models it.
use Flag::{Elsewhere, Load, Value as Arg, WhenFalse};
use Show::{Custom, Named};
use Sim::{Modelled, Refused};
matrix_keys! {
    peer => Peer: "peer", Kind::Peer, text(crate::results::OURS), Elsewhere, All, Custom,
        Modelled;
    hosts => Hosts: "hosts", Kind::Choice(choices::<Hosts>), text(Hosts::Loopback.as_str()),
        Elsewhere, All, Named("hosts"),
        Refused("no hosts are modelled: the simulated link is the only path");
    rtt => Rtt: "rtt_ms", Kind::Ms, Scalar::Int(0), Elsewhere, All, Custom, Modelled;
    rate => Rate: "rate_bits_per_second", Kind::Rate, text("none"), Elsewhere, All, Custom,
        Modelled;
    queue => Queue: "queue_bytes", Kind::Size, text("4MiB"), Elsewhere, All, Custom, Modelled;
    stack => Stack: "stack", Kind::Choice(choices::<Stack>), text(Stack::Yamux.as_str()),
        Arg("--stack"), All, Custom,
        Refused("it runs yamux sessions only; bare TCP is a kernel baseline");
    transport => Transport: "transport", Kind::Choice(choices::<TransportKind>),
        text(TransportKind::Tcp.as_str()), Elsewhere, Yamux, Named("transport"),
        Refused("no transport is modelled, only the link below yamux");
    early_muxer => EarlyMuxer: "early_muxer", Kind::Bool, Scalar::Bool(true),
        WhenFalse("--no-early-muxer"), Yamux, Named("early_muxer"),
        Refused("no connection setup is modelled: the sessions start established");
    security => Security: "security", Kind::Choice(choices::<Security>),
        text(Security::Noise.as_str()), Arg("--security"), Yamux, Custom,
        Refused("no security layer is modelled: the sessions exchange plaintext frames");
    send_buffer => SendBuffer: "send_buffer_bytes", Kind::Buffer, text("auto"),
        Arg("--send-buffer"), All, Custom, Refused("no socket is modelled");
    recv_buffer => RecvBuffer: "recv_buffer_bytes", Kind::Buffer, text("auto"),
        Arg("--recv-buffer"), All, Custom, Refused("no socket is modelled");
    max_window => MaxWindow: "max_window_bytes", Kind::Size, text("16MiB"),
        Arg("--max-window"), Yamux, Custom, Modelled;
    initial_window => InitialWindow: "initial_window_bytes", Kind::Window, text("256KiB"),
        Arg("--initial-window"), Yamux, Custom, Modelled;
    autotune => Autotune: "autotune", Kind::Bool, Scalar::Bool(true),
        WhenFalse("--no-autotune"), Yamux, Custom, Modelled;
    window_accounting => WindowAccounting: "window_accounting",
        Kind::Choice(choices::<WindowAccounting>), text(WindowAccounting::Full.as_str()),
        Arg("--window-accounting"), Yamux, Custom, Modelled;
    autotune_rule => AutotuneRule: "autotune_rule", Kind::Choice(choices::<AutotuneRule>),
        text(AutotuneRule::Go.as_str()), Arg("--autotune-rule"), Yamux, Named("rule"),
        Modelled;
    max_frame => MaxFrame: "max_frame_bytes", Kind::Size, text("64KiB"), Arg("--max-frame"),
        Yamux, Custom, Modelled;
    streams => Streams: "streams", Kind::Count, Scalar::Int(1), Load("--streams"), All, Custom,
        Modelled;
    connections => Connections: "connections", Kind::Count, Scalar::Int(1),
        Load("--connections"), All, Custom, Modelled;
    upload => Upload: "upload_bytes", Kind::Size, Scalar::Int(0), Load("--upload"), All, Custom,
        Modelled;
    download => Download: "download_bytes", Kind::Size, Scalar::Int(0), Load("--download"), All,
        Custom, Modelled;
    latency_rounds => LatencyRounds: "latency_rounds", Kind::Rounds, Scalar::Int(0), Elsewhere,
        All, Custom, Modelled;
    latency_mode => LatencyMode: "latency_mode", Kind::Choice(choices::<LatencyMode>),
        text(LatencyMode::Perf.as_str()), Elsewhere, All, Custom,
        Refused("it runs no latency rounds");
    probe => Probe: "probe", Kind::Probe, text("none"), Load("--probe"), Yamux, Named("probe"),
        Refused("it runs no ping probe (the probe times pings on real connections)");
    stagger => Stagger: "stagger_ms", Kind::Stagger, Scalar::Int(0), Load("--stagger"), Yamux,
        Named("stagger"), Refused("it opens every stream at once");
    short_flows => ShortFlows: "short_flows", Kind::ShortFlows, text("none"),
        Load("--short-flows"), Yamux, Named("short_flows"), Refused("it runs no short flows");
}

fn size(value: &Scalar) -> Result<u64, String> {
    match value {
        Scalar::Int(n) => u64::try_from(*n).map_err(|_| "a size cannot be negative".into()),
        Scalar::Text(s) => s
            .parse::<ByteSize>()
            .map(ByteSize::bytes)
            .map_err(|e| e.to_string()),
        _ => Err("expected a size such as \"64MiB\" or a byte count".into()),
    }
}

fn count(value: &Scalar, min: i64, max: i64) -> Result<u32, String> {
    match value {
        Scalar::Int(n) if (min..=max).contains(n) => Ok(*n as u32),
        Scalar::Int(_) => Err(format!("expected a count from {min} to {max}")),
        _ => Err("expected an integer".into()),
    }
}

/// `"a"`, `"a" or "b"`, `"a", "b" or "c"`.
fn one_of(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
    match quoted.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    }
}

impl Kind {
    /// Parses one value, to the JSON of its [`crate::results::CaseConfig`] field (`null` for an
    /// absent option); the error says why it is invalid.
    pub fn parse(self, value: &Scalar) -> Result<Value, String> {
        match self {
            Kind::Peer => match value {
                Scalar::Text(s) if !s.trim().is_empty() => Ok(s.trim().into()),
                _ => Err("expected a peer name such as \"ours\" or \"go\"".into()),
            },
            Kind::Ms => {
                let ms = match value {
                    Scalar::Int(0) => 0.0,
                    Scalar::Text(s) => {
                        parse_duration(s).map_err(|e| e.to_string())?.as_secs_f64() * 1e3
                    }
                    _ => return Err("expected a duration such as \"50ms\"".into()),
                };
                if ms > MAX_RTT_MS {
                    return Err(format!("at most {MAX_RTT_MS} ms"));
                }
                Ok(ms.into())
            }
            Kind::Rate => match value {
                Scalar::Text(s) if matches!(s.trim(), "none" | "unlimited") => Ok(Value::Null),
                Scalar::Text(s) => s
                    .parse::<Rate>()
                    .map(|r| r.0.into())
                    .map_err(|e| e.to_string()),
                Scalar::Int(n) if *n > 0 => Ok((*n as u64).into()),
                _ => Err("expected a rate such as \"1Gbit\" or \"none\"".into()),
            },
            Kind::Window => match value {
                Scalar::Text(s) if s.trim() == SAME_AS_MAX_WINDOW => Ok(SAME_AS_MAX_WINDOW.into()),
                _ => size(value).map(Value::from),
            },
            Kind::Size => size(value).map(Value::from),
            Kind::Bool => match value {
                Scalar::Bool(b) => Ok((*b).into()),
                _ => Err("expected true or false".into()),
            },
            Kind::Count => count(value, 1, MAX_PARALLEL).map(Value::from),
            Kind::Rounds => match value {
                Scalar::Int(0) => Ok(Value::Null),
                _ => count(value, 0, MAX_ROUNDS).map(Value::from),
            },
            Kind::Buffer => match value {
                Scalar::Text(s) if s.trim() == "auto" => Ok(Value::Null),
                _ => {
                    let bytes = size(value)?;
                    if !(MIN_BUFFER..=MAX_BUFFER).contains(&bytes) {
                        return Err(format!(
                            "a socket buffer must be from {} to {}, or \"auto\"",
                            ByteSize(MIN_BUFFER),
                            ByteSize(MAX_BUFFER)
                        ));
                    }
                    Ok(bytes.into())
                }
            },
            Kind::Choice(names) => {
                let names = names();
                match value {
                    Scalar::Text(s) if names.contains(s) => Ok(s.as_str().into()),
                    _ => Err(format!("expected {}", one_of(&names))),
                }
            }
            Kind::Stagger => match value {
                Scalar::Int(0) => Ok(Value::Null),
                Scalar::Text(s) => {
                    let ms = parse_duration(s).map_err(|e| e.to_string())?.as_secs_f64() * 1e3;
                    Ok(if ms == 0.0 { Value::Null } else { ms.into() })
                }
                _ => Err("expected a duration such as \"200ms\"".into()),
            },
            Kind::ShortFlows => match value {
                Scalar::Text(s) if s.trim() == "none" => Ok(Value::Null),
                Scalar::Text(s) => s
                    .parse::<ShortFlows>()
                    .map(|f| f.to_string().into())
                    .map_err(|e| e.to_string() + " or \"none\""),
                _ => Err("expected COUNT:SIZE such as \"20:64KiB\" or \"none\"".into()),
            },
            Kind::Probe => match value {
                Scalar::Text(s) if s == "none" => Ok(Value::Null),
                _ => Kind::Choice(probe_choices)
                    .parse(value)
                    .map_err(|e| e + " or \"none\""),
            },
        }
    }
}

/// Every key at its default: the table's defaults are the only ones (test fixtures build on
/// this with `..Default::default()`, so a new key is not a field to add to each of them).
impl Default for CaseConfig {
    fn default() -> Self {
        let fields: Map<String, Value> = Key::ALL
            .iter()
            .map(|key| (key.field().to_string(), key.default_value()))
            .filter(|(_, value)| !value.is_null())
            .collect();
        serde_json::from_value(Value::Object(fields))
            .expect("the table's defaults are a case config")
    }
}

/// A case's fields as JSON, the form every key's value takes ([`Key::value_in`]).
pub fn case_fields(c: &CaseConfig) -> Map<String, Value> {
    match serde_json::to_value(c) {
        Ok(Value::Object(fields)) => fields,
        _ => unreachable!("a CaseConfig serializes to an object"),
    }
}

/// A value as a flag or a label writes it: a string without quotes, a number or bool as JSON.
pub fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Key {
    /// The value used when the key is absent.
    pub fn default_value(self) -> Value {
        self.parse(&self.default_scalar())
            .expect("the default of every key parses")
    }

    /// Parses one value of this key; the error says why it is invalid.
    pub fn parse(self, value: &Scalar) -> Result<Value, String> {
        self.kind().parse(value)
    }

    /// This key's value among a case's `fields` ([`case_fields`]); a field left out of the
    /// JSON (an optional one at its default) is the default.
    pub fn value_in(self, fields: &Map<String, Value>) -> Value {
        fields
            .get(self.field())
            .cloned()
            .unwrap_or_else(|| self.default_value())
    }

    /// `value` as this key's flag, label and legend write it: [`value_text`], except a
    /// [`Kind::Stagger`] number of ms, which gets its unit (`200ms`).
    pub fn text(self, value: &Value) -> String {
        match (self.kind(), value.as_f64()) {
            (Kind::Stagger, Some(ms)) => super::label::format_ms(ms),
            _ => value_text(value),
        }
    }

    /// The name a label and a legend show it by, for a key the table shows by name.
    pub fn shown_as(self) -> Option<&'static str> {
        match self.show() {
            Show::Named(name) => Some(name),
            Show::Custom => None,
        }
    }

    /// Whether the key applies to a case of `stack`.
    pub fn applies_to(self, stack: Stack) -> bool {
        self.scope() == Scope::All || stack == Stack::Yamux
    }

    /// The client and server arguments of `value`: none at the default or for a key passed
    /// [`Flag::Elsewhere`]; a [`Flag::Load`] key at its default too.
    pub fn args(self, value: &Value) -> Vec<String> {
        if value.is_null() {
            return Vec::new();
        }
        let at_default = *value == self.default_value();
        match self.flag() {
            Flag::Elsewhere => Vec::new(),
            Flag::Load(flag) => vec![flag.to_string(), self.text(value)],
            _ if at_default => Vec::new(),
            Flag::Value(flag) => vec![flag.to_string(), self.text(value)],
            Flag::WhenFalse(flag) if *value == Value::Bool(false) => vec![flag.to_string()],
            Flag::WhenFalse(_) => Vec::new(),
        }
    }

    /// Whether the key's flag goes to the client's load runs only ([`Flag::Load`]) rather than
    /// to both commands.
    pub fn load_only(self) -> bool {
        matches!(self.flag(), Flag::Load(_))
    }
}

#[cfg(test)]
mod tests {
    use super::super::ConfigError;
    use super::super::tests::{error, parse};
    use super::*;

    #[test]
    fn the_default_case_is_every_key_at_its_default() {
        let c = CaseConfig::default();
        let fields = case_fields(&c);
        for &key in Key::ALL {
            assert_eq!(key.value_in(&fields), key.default_value(), "{}", key.name());
        }
        assert_eq!(
            (c.peer.as_str(), c.streams, c.upload_bytes),
            (crate::results::OURS, 1, 0)
        );
    }

    /// The key lists of the docs are checked against the table: a new key without its line in
    /// the module doc and in docs/sweep.md fails here.
    #[test]
    fn every_key_is_documented() {
        let module_doc = include_str!("mod.rs");
        let sweep_md = include_str!("../../../docs/sweep.md");
        for &key in Key::ALL {
            let name = key.name();
            assert!(
                module_doc.contains(&format!("//! {name} = ")),
                "{name}: no `{name} = …` line in the example of src/sweep/config/mod.rs"
            );
            assert!(
                sweep_md.contains(&format!("`{name}`")),
                "{name}: not named in docs/sweep.md"
            );
        }
    }

    #[test]
    fn enum_keys_accept_every_name_of_their_type() {
        for &key in Key::ALL {
            if let Kind::Choice(names) = key.kind() {
                for name in names() {
                    assert_eq!(key.parse(&text(&name)), Ok(Value::from(name.as_str())));
                }
                let e = key.parse(&text("nope")).unwrap_err();
                assert!(e.starts_with("expected \""), "{}: {e}", key.name());
            }
        }
        assert_eq!(
            one_of(&["a".into(), "b".into(), "c".into()]),
            "\"a\", \"b\" or \"c\""
        );
    }

    #[test]
    fn unknown_keys_are_rejected_with_the_key_named() {
        let e = error("[matrix]\nrtts = [\"0ms\"]\nupload = \"1MiB\"");
        assert!(e.contains("unknown field `rtts`"), "{e}");
        assert!(e.contains("`rtt`"), "lists the valid keys: {e}");
        let e = error("repetition = 3\n[matrix]\nupload = \"1MiB\"");
        assert!(e.contains("unknown field `repetition`"), "{e}");
        let e = error(
            "[matrix]\nupload = \"1MiB\"\n[[override]]\nwhen = {}\nset = { uplaod = \"1MiB\" }",
        );
        assert!(e.contains("unknown field `uplaod`"), "{e}");
        let e = error("[matrix]\nupload = \"1MiB\"\n[peers.go]\ncmd = [\"x\"]");
        assert!(e.contains("unknown field `cmd`"), "{e}");
    }

    #[test]
    fn bad_values_are_rejected_with_a_reason() {
        for (text, expected) in [
            ("rtt = \"50 parsecs\"", "matrix.rtt"),
            ("rtt = 50", "expected a duration"),
            ("rate = \"fast\"", "matrix.rate"),
            ("max_window = \"8GiB\"", "32-bit"),
            ("max_window = \"128KiB\"", "from 256KiB"),
            (
                "initial_window = \"1MiB\"\nmax_window = \"512KiB\"",
                "below initial_window",
            ),
            ("max_frame = \"100\"", "max_frame must be"),
            ("streams = 0", "from 1 to 1024"),
            ("autotune = \"yes\"", "true or false"),
            ("window_accounting = \"rust\"", "\"full\" or \"go\""),
            ("autotune_rule = \"fast\"", "\"go\", \"ramp\" or \"shared\""),
            ("peer = \"nim\"", "unknown peer \"nim\""),
            ("rtt = []", "empty list"),
            ("upload = -1", "negative"),
            ("queue = \"1KiB\"", "at least 64KiB"),
        ] {
            let body = if text.contains("upload") {
                format!("[matrix]\n{text}")
            } else {
                format!("[matrix]\nupload = \"1MiB\"\n{text}")
            };
            let e = error(&body);
            assert!(e.contains(expected), "{text}: {e}");
        }
        assert!(error("[matrix]\nrtt = \"0ms\"").contains("nothing to measure"));
        assert!(error("repetitions = 0\n[matrix]\nupload = 1").contains("repetitions"));
        assert!(error("timeout = \"soon\"\n[matrix]\nupload = 1").contains("timeout"));
        let e = error(
            "[matrix]\nupload = 1\n[[override]]\nwhen = {}\nset = { rtt = [\"0ms\", \"1ms\"] }",
        );
        assert!(e.contains("one value"), "{e}");
    }

    #[test]
    fn bad_stack_security_and_buffer_values_are_typed_errors() {
        for (text, key, expected) in [
            ("stack = \"quic\"", "matrix.stack", "\"yamux\" or \"tcp\""),
            (
                "security = \"quic\"",
                "matrix.security",
                "\"noise\", \"tls\" or \"plaintext\"",
            ),
            (
                "security = true",
                "matrix.security",
                "\"noise\", \"tls\" or \"plaintext\"",
            ),
            (
                "send_buffer = \"1KiB\"",
                "matrix.send_buffer",
                "from 4KiB to 1GiB",
            ),
            (
                "recv_buffer = \"2GiB\"",
                "matrix.recv_buffer",
                "from 4KiB to 1GiB",
            ),
            ("recv_buffer = \"lots\"", "matrix.recv_buffer", ""),
        ] {
            let e = parse(&format!("[matrix]\nupload = 1\n{text}")).unwrap_err();
            match &e {
                ConfigError::Value { key: k, reason, .. } => {
                    assert_eq!(k, key, "{text}");
                    assert!(reason.contains(expected), "{text}: {reason}");
                }
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn socket_buffers_are_sizes_or_auto() {
        let sweep = parse(
            "[matrix]\nupload = 1\nsend_buffer = [\"auto\", \"256KiB\"]\nrecv_buffer = 65536",
        )
        .unwrap();
        let buffers: Vec<_> = sweep
            .cases
            .iter()
            .map(|c| (c.config.send_buffer_bytes, c.config.recv_buffer_bytes))
            .collect();
        assert_eq!(
            buffers,
            [(None, Some(65536)), (Some(256 << 10), Some(65536))]
        );
        assert!(
            sweep.cases[1]
                .label
                .contains(" sndbuf=256KiB rcvbuf=64KiB ")
        );
        let json = serde_json::to_value(&sweep.cases[1].config).unwrap();
        assert_eq!(json["send_buffer_bytes"], 256 << 10);
    }
}
