//! Secrets at rest: AES-256-GCM with a key derived from `PATCHBAY_SECRET_KEY`.
use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use sha2::{Digest, Sha256};

const PREFIX: &str = "v1:";

/// Seals and opens secrets. The key never leaves this struct; Debug shows nothing.
#[derive(Clone)]
pub struct Sealer {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer([redacted])")
    }
}

impl Sealer {
    /// Derive the key from the configured secret.
    pub fn new(secret: &str) -> Self {
        let mut h = Sha256::new();
        h.update(b"patchbay/secrets-at-rest/v1\0");
        h.update(secret.as_bytes());
        let key = h.finalize();
        Self { cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key)) }
    }

    pub fn seal(&self, plaintext: &str) -> Result<String, String> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ct = self.cipher.encrypt(&nonce, plaintext.as_bytes()).map_err(|_| "encryption failed".to_string())?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(format!("{PREFIX}{}", base64::engine::general_purpose::STANDARD_NO_PAD.encode(out)))
    }

    pub fn open(&self, sealed: &str) -> Result<String, String> {
        let raw = sealed.strip_prefix(PREFIX).ok_or("unknown secret format")?;
        let bytes = base64::engine::general_purpose::STANDARD_NO_PAD.decode(raw).map_err(|_| "corrupt secret")?;
        if bytes.len() < 12 {
            return Err("corrupt secret".into());
        }
        let (nonce, ct) = bytes.split_at(12);
        let pt = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), ct)
            .map_err(|_| "the secret cannot be opened with this PATCHBAY_SECRET_KEY".to_string())?;
        String::from_utf8(pt).map_err(|_| "corrupt secret".into())
    }
}

#[cfg(test)]
mod tests {
    use super::Sealer;

    #[test]
    fn sealed_secrets_round_trip_and_hide_the_plaintext() {
        let s = Sealer::new("a key of some length");
        let sealed = s.seal("client-secret-123").unwrap();
        assert!(!sealed.contains("client-secret-123"));
        assert_ne!(sealed, s.seal("client-secret-123").unwrap(), "fresh nonce each time");
        assert_eq!(s.open(&sealed).unwrap(), "client-secret-123");
    }

    #[test]
    fn another_key_cannot_open_it_and_tampering_is_detected() {
        let sealed = Sealer::new("key one").seal("x").unwrap();
        assert!(Sealer::new("key two").open(&sealed).is_err());
        let mut t = sealed.clone();
        t.pop();
        t.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(Sealer::new("key one").open(&t).is_err());
    }
}
