//! Ed25519 identity keys and peer ids.
//!
//! Spec: <https://github.com/libp2p/specs/blob/master/peer-ids/peer-ids.md>. The key and peer-id
//! encodings come from libp2p-identity; this
//! module only adds the ways this tool obtains a key: a deterministic key from a small number
//! (so benchmark peers have stable, known peer ids, as the go test-plans perf server does with
//! seed 0), a key file in the libp2p protobuf private-key format, or a fresh random key.
//!
//! Not done here: signing and verifying (see [`Keypair::sign`] and [`PublicKey::verify`]) and key
//! types other than Ed25519 for the constructors (a loaded key file may hold any type that
//! libp2p-identity was built with).

use std::path::{Path, PathBuf};

pub use libp2p_identity::{Keypair, PeerId, PublicKey};

/// Why a key could not be loaded or saved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// Reading or writing the key file failed.
    #[error("key file {path}")]
    Io {
        /// The key file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The key file is not a libp2p protobuf private key, or its key type is not supported.
    #[error("key file {path}: invalid private key")]
    Decode {
        /// The key file.
        path: PathBuf,
        /// What libp2p-identity found wrong.
        #[source]
        source: libp2p_identity::DecodingError,
    },
    /// The key type cannot be written in the protobuf format (RSA keys).
    #[error("cannot encode this key type")]
    Encode(#[source] libp2p_identity::DecodingError),
}

/// Key files are tiny (an Ed25519 one is 68 bytes); refuse anything larger than this rather than
/// reading a wrong, huge file into memory.
const MAX_KEY_FILE_LEN: u64 = 16 * 1024;

/// The Ed25519 keypair whose 32-byte secret seed is `seed.to_le_bytes()` followed by 24 zeros.
///
/// Seed 0 is the all-zero seed, i.e. the go test-plans perf server key with peer id
/// `12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN`. Such keys are public knowledge: use them
/// only for benchmarks.
pub fn keypair_from_seed(seed: u64) -> Keypair {
    let mut secret = [0u8; 32];
    secret[..8].copy_from_slice(&seed.to_le_bytes());
    keypair_from_secret(&secret)
}

/// The Ed25519 keypair with the given 32-byte secret seed (RFC 8032 private key).
pub fn keypair_from_secret(secret: &[u8; 32]) -> Keypair {
    // libp2p-identity zeroizes the buffer it is given, so hand it a copy.
    let mut copy = *secret;
    match libp2p_identity::ed25519::SecretKey::try_from_bytes(&mut copy) {
        Ok(secret) => libp2p_identity::ed25519::Keypair::from(secret).into(),
        // Only the length is checked, and ours is always 32.
        Err(_) => unreachable!("any 32 bytes are an Ed25519 secret seed"),
    }
}

/// A fresh random Ed25519 keypair.
pub fn generate() -> Keypair {
    Keypair::generate_ed25519()
}

/// Reads a private key file in the libp2p protobuf format (`PrivateKey { Type, Data }`, as written
/// by [`save_keypair`] and by go's `crypto.MarshalPrivateKey`).
pub fn load_keypair(path: &Path) -> Result<Keypair, IdentityError> {
    use std::io::Read;
    let io_error = |source| IdentityError::Io {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io_error)?;
    let mut bytes = Vec::new();
    file.take(MAX_KEY_FILE_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(io_error)?;
    if bytes.len() as u64 > MAX_KEY_FILE_LEN {
        return Err(io_error(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {MAX_KEY_FILE_LEN} bytes"),
        )));
    }
    Keypair::from_protobuf_encoding(&bytes).map_err(|source| IdentityError::Decode {
        path: path.to_owned(),
        source,
    })
}

/// Writes `keypair` to `path` in the libp2p protobuf private-key format, replacing the file.
///
/// On Unix the file is created with mode 0600, since it holds a secret key.
pub fn save_keypair(keypair: &Keypair, path: &Path) -> Result<(), IdentityError> {
    use std::io::Write;
    let bytes = keypair
        .to_protobuf_encoding()
        .map_err(IdentityError::Encode)?;
    let io_error = |source| IdentityError::Io {
        path: path.to_owned(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io_error)?;
    file.write_all(&bytes).map_err(io_error)?;
    file.sync_all().map_err(io_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC_SECRET: &str = "7e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da60fee7d";

    #[test]
    fn seed_zero_is_the_go_test_plans_key() {
        let key = keypair_from_seed(0);
        assert_eq!(
            hex::encode(key.public().encode_protobuf()),
            "080112203b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29"
        );
        assert_eq!(
            key.public().to_peer_id().to_base58(),
            "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"
        );
    }

    #[test]
    fn seed_fills_the_first_eight_bytes_little_endian() {
        let mut secret = [0u8; 32];
        secret[0] = 1;
        assert_eq!(
            keypair_from_seed(1).public(),
            keypair_from_secret(&secret).public()
        );
        assert_ne!(keypair_from_seed(1).public(), keypair_from_seed(2).public());
        secret = [0u8; 32];
        secret[7] = 0x80;
        assert_eq!(
            keypair_from_seed(0x8000_0000_0000_0000).public(),
            keypair_from_secret(&secret).public()
        );
    }

    #[test]
    fn spec_key_vector() {
        let secret: [u8; 32] = hex::decode(SPEC_SECRET).unwrap().try_into().unwrap();
        let key = keypair_from_secret(&secret);
        assert_eq!(
            hex::encode(key.public().encode_protobuf()),
            "080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e"
        );
        assert_eq!(
            hex::encode(key.to_protobuf_encoding().unwrap()),
            format!(
                "08011240{SPEC_SECRET}1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e"
            )
        );
        let peer = key.public().to_peer_id();
        assert_eq!(
            hex::encode(peer.to_bytes()),
            "0024080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e"
        );
        assert_eq!(
            peer.to_base58(),
            "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq"
        );
    }

    #[test]
    fn save_then_load() {
        let dir = std::env::temp_dir().join(format!("yamux-perf-identity-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("key");
        let key = generate();
        save_keypair(&key, &path).unwrap();
        let loaded = load_keypair(&path).unwrap();
        assert_eq!(loaded.public(), key.public());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(&path, b"not a key").unwrap();
        assert!(matches!(
            load_keypair(&path),
            Err(IdentityError::Decode { .. })
        ));
        std::fs::write(&path, vec![0u8; MAX_KEY_FILE_LEN as usize + 1]).unwrap();
        assert!(matches!(load_keypair(&path), Err(IdentityError::Io { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(matches!(load_keypair(&path), Err(IdentityError::Io { .. })));
    }
}
