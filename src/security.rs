//! The secure channel a connection is upgraded with: one definition for the CLI (`--security`),
//! the sweep matrix (`security = …`), the case JSON and the reports.
//!
//! The strings are the flag values and the JSON values (lowercase), so case ids computed from
//! them do not change.

use serde::{Deserialize, Serialize};

use crate::{noise, plaintext};

/// The security protocol of a connection. A listener accepts only the one it is given.
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
    /// libp2p `/plaintext/2.0.0`: identities exchanged unsigned, bytes unencrypted (for
    /// measurements only).
    Plaintext,
}

impl Security {
    /// The flag, matrix and JSON value.
    pub fn as_str(self) -> &'static str {
        match self {
            Security::Noise => "noise",
            Security::Plaintext => "plaintext",
        }
    }

    /// The multistream-select protocol id.
    pub fn protocol_id(self) -> &'static str {
        match self {
            Security::Noise => noise::PROTOCOL_ID,
            Security::Plaintext => plaintext::PROTOCOL_ID,
        }
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
        assert!(Security::from_str("tls", false).is_err());
    }
}
