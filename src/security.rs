//! The secure channel a connection is upgraded with: one definition for the CLI (`--security`),
//! the sweep matrix (`security = …`), the case JSON and the reports.
//!
//! The strings are the flag values and the JSON values (lowercase), so case ids computed from
//! them do not change.

use serde::{Deserialize, Serialize};

use crate::{noise, plaintext, tls};

/// The security protocol of a connection. A dialer proposes one; a listener accepts a set
/// ([`Security::LISTENER_DEFAULT`] unless told otherwise).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
#[value(rename_all = "lowercase")]
pub enum Security {
    /// libp2p Noise XX (`/noise`): authenticated and encrypted.
    #[default]
    Noise,
    /// libp2p TLS 1.3 (`/tls/1.0.0`): authenticated and encrypted.
    Tls,
    /// libp2p `/plaintext/2.0.0`: identities exchanged unsigned, bytes unencrypted (for
    /// measurements only).
    Plaintext,
}

impl Security {
    /// The flag, matrix and JSON value.
    pub fn as_str(self) -> &'static str {
        match self {
            Security::Noise => "noise",
            Security::Tls => "tls",
            Security::Plaintext => "plaintext",
        }
    }

    /// The multistream-select protocol id.
    pub fn protocol_id(self) -> &'static str {
        match self {
            Security::Noise => noise::PROTOCOL_ID,
            Security::Tls => tls::PROTOCOL_ID,
            Security::Plaintext => plaintext::PROTOCOL_ID,
        }
    }

    /// What a listener accepts when not told otherwise: the two encrypted channels
    /// (plaintext only when asked for).
    pub const LISTENER_DEFAULT: [Security; 2] = [Security::Noise, Security::Tls];

    /// The listener's accepted set from the protocols `named` (`--security a,b`): each once,
    /// in order, or [`Security::LISTENER_DEFAULT`] when none is named.
    pub fn accepted(named: &[Security]) -> Vec<Security> {
        if named.is_empty() {
            return Self::LISTENER_DEFAULT.to_vec();
        }
        let mut set = Vec::with_capacity(named.len());
        for s in named {
            if !set.contains(s) {
                set.push(*s);
            }
        }
        set
    }

    /// The dialer's proposal from the protocols `named`: the one named (Noise when none), or
    /// the list back when it names more than one (a dialer proposes one).
    pub fn proposed(named: &[Security]) -> Result<Security, &[Security]> {
        match named {
            [] => Ok(Security::default()),
            [one] => Ok(*one),
            many => Err(many),
        }
    }

    /// The security protocol of a multistream-select protocol id.
    pub fn from_protocol_id(id: &str) -> Option<Security> {
        <Security as clap::ValueEnum>::value_variants()
            .iter()
            .copied()
            .find(|s| s.protocol_id() == id)
    }

    /// The default (left out of a case's JSON, so older case ids stay).
    pub fn is_noise(&self) -> bool {
        *self == Security::Noise
    }
}

impl std::fmt::Display for Security {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn flag_and_json_spellings_agree() {
        for s in Security::value_variants() {
            let flag = s.to_possible_value().unwrap();
            assert_eq!(flag.get_name(), s.as_str());
            assert_eq!(
                serde_json::to_string(s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
            assert_eq!(Security::from_str(s.as_str(), false), Ok(*s));
        }
        assert!(Security::from_str("quic", false).is_err());
        for s in Security::value_variants() {
            assert_eq!(Security::from_protocol_id(s.protocol_id()), Some(*s));
        }
        assert_eq!(
            Security::from_protocol_id("/tls/1.0.0"),
            Some(Security::Tls)
        );
        assert_eq!(Security::from_protocol_id("/quic"), None);
    }

    #[test]
    fn listener_sets_and_dialer_proposals() {
        use Security::*;
        assert_eq!(Security::accepted(&[]), [Noise, Tls]);
        assert_eq!(Security::accepted(&[Tls, Tls, Plaintext]), [Tls, Plaintext]);
        assert_eq!(Security::proposed(&[]), Ok(Noise));
        assert_eq!(Security::proposed(&[Tls]), Ok(Tls));
        assert_eq!(Security::proposed(&[Tls, Noise]), Err(&[Tls, Noise][..]));
    }
}
