//! Secrets at rest: AES-256-GCM under keys derived from `PATCHBAY_SECRET_KEY` with
//! HKDF-SHA256, and key rotation.
//!
//! Derivation: `HKDF-SHA256(salt = "patchbay/hkdf/v1", ikm = the configured secret)`, expanded
//! once per purpose label:
//! - `patchbay/seal/v1`: the AES-256-GCM key that seals values stored in the database;
//! - `patchbay/key-id/v1`: 8 bytes shown as hex, the key's public id (a fingerprint that reveals
//!   nothing about the sealing key).
//!
//! Sealed format (written): `v2:<key id>:<base64(nonce ‖ ciphertext)>`; the key id and the
//! purpose label are the AEAD's associated data, so a value cannot be moved to another key id.
//! Opening picks the key by its id: the current key (`PATCHBAY_SECRET_KEY`) or the previous one
//! (`PATCHBAY_SECRET_KEY_PREVIOUS`).
//!
//! Legacy format (read only): `v1:<base64>`, sealed by earlier releases under the bare
//! `SHA-256("patchbay/secrets-at-rest/v1\0" ‖ secret)`. Such values carry no key id, so opening
//! tries the current key, then the previous one. They are never written any more, and
//! `patchbay rotate-secrets` re-seals them (with every value not under the current key) into
//! `v2`, so existing data is not lost by the upgrade. Support for reading `v1` can be dropped
//! once every deployment has run `rotate-secrets`.
use crate::core::db::BeginWrite;
use std::sync::Arc;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use hkdf::Hkdf;
use sha2::{Digest, Sha256};

const V2: &str = "v2:";
const V1: &str = "v1:";
const HKDF_SALT: &[u8] = b"patchbay/hkdf/v1";
const SEAL_LABEL: &[u8] = b"patchbay/seal/v1";
const KEY_ID_LABEL: &[u8] = b"patchbay/key-id/v1";
const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD_NO_PAD;

/// A 32-byte key for one purpose, derived from a configured secret with HKDF-SHA256
/// (the same salt as the sealing key, its own label): keys for different purposes are
/// independent, and none reveals the secret.
pub fn derive_key(secret: &str, label: &[u8]) -> [u8; 32] {
    let hk = Hkdf::<Sha256>::new(Some(HKDF_SALT), secret.as_bytes());
    let mut key = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's limit (255 × 32), the only case in which expand fails.
    let _ = hk.expand(label, &mut key);
    key
}

/// One configured secret, with everything derived from it.
struct KeySet {
    id: String,
    seal: Aes256Gcm,
    /// The bare SHA-256 key of format v1, for reading old values only.
    legacy: Aes256Gcm,
}

impl KeySet {
    fn derive(secret: &str) -> Self {
        let hk = Hkdf::<Sha256>::new(Some(HKDF_SALT), secret.as_bytes());
        let mut seal = [0u8; 32];
        let mut id = [0u8; 8];
        // Both lengths are constants far below HKDF-SHA256's limit of 255 × 32 bytes, the only
        // case in which expand fails. (Were it to fail, every secret would get the same all-zero
        // key id, which `keys_are_separated_by_purpose_and_ids_do_not_reveal_the_key` rules out.)
        let _ = hk.expand(SEAL_LABEL, &mut seal);
        let _ = hk.expand(KEY_ID_LABEL, &mut id);
        let mut h = Sha256::new();
        h.update(b"patchbay/secrets-at-rest/v1\0");
        h.update(secret.as_bytes());
        let legacy = h.finalize();
        Self {
            id: id.iter().map(|b| format!("{b:02x}")).collect(),
            seal: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&seal)),
            legacy: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&legacy)),
        }
    }

    fn aad(&self) -> Vec<u8> {
        let mut aad = SEAL_LABEL.to_vec();
        aad.push(b'|');
        aad.extend_from_slice(self.id.as_bytes());
        aad
    }
}

/// Seals and opens secrets. The keys never leave this struct; Debug shows only key ids.
#[derive(Clone)]
pub struct Sealer {
    current: Arc<KeySet>,
    previous: Option<Arc<KeySet>>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("current_key_id", &self.current.id)
            .field("previous_key_id", &self.previous.as_ref().map(|k| k.id.as_str()))
            .finish()
    }
}

fn split_nonce(bytes: &[u8]) -> Result<(&[u8], &[u8]), String> {
    if bytes.len() < 12 + 16 {
        return Err("corrupt secret".into());
    }
    Ok(bytes.split_at(12))
}

impl Sealer {
    /// Derive the keys from the configured secret (`PATCHBAY_SECRET_KEY`).
    pub fn new(secret: &str) -> Self {
        Self { current: Arc::new(KeySet::derive(secret)), previous: None }
    }

    /// Also open values sealed under the previous secret (`PATCHBAY_SECRET_KEY_PREVIOUS`).
    pub fn with_previous(mut self, previous: &str) -> Self {
        self.previous = Some(Arc::new(KeySet::derive(previous)));
        self
    }

    /// The public id of the current key (it appears in every value sealed now).
    pub fn key_id(&self) -> &str {
        &self.current.id
    }

    /// The public id of the previous key, if one is configured.
    pub fn previous_key_id(&self) -> Option<&str> {
        self.previous.as_deref().map(|k| k.id.as_str())
    }

    pub fn seal(&self, plaintext: &str) -> Result<String, String> {
        let k = &self.current;
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let aad = k.aad();
        let ct = k
            .seal
            .encrypt(&nonce, Payload { msg: plaintext.as_bytes(), aad: &aad })
            .map_err(|_| "encryption failed".to_string())?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(format!("{V2}{}:{}", k.id, B64.encode(out)))
    }

    pub fn open(&self, sealed: &str) -> Result<String, String> {
        if let Some(rest) = sealed.strip_prefix(V2) {
            let (kid, raw) = rest.split_once(':').ok_or("corrupt secret")?;
            let k = [Some(&self.current), self.previous.as_ref()]
                .into_iter()
                .flatten()
                .find(|k| k.id == kid)
                .ok_or_else(|| {
                    format!(
                        "the secret was sealed with key {kid}, which is neither PATCHBAY_SECRET_KEY ({}) nor PATCHBAY_SECRET_KEY_PREVIOUS ({})",
                        self.current.id,
                        self.previous_key_id().unwrap_or("unset")
                    )
                })?;
            let bytes = B64.decode(raw).map_err(|_| "corrupt secret")?;
            let (nonce, ct) = split_nonce(&bytes)?;
            let aad = k.aad();
            let pt = k
                .seal
                .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: &aad })
                .map_err(|_| format!("the secret sealed with key {kid} failed authentication (tampered or corrupt)"))?;
            return String::from_utf8(pt).map_err(|_| "corrupt secret".into());
        }
        let raw = sealed.strip_prefix(V1).ok_or("unknown secret format")?;
        let bytes = B64.decode(raw).map_err(|_| "corrupt secret")?;
        let (nonce, ct) = split_nonce(&bytes)?;
        for k in [Some(&self.current), self.previous.as_ref()].into_iter().flatten() {
            if let Ok(pt) = k.legacy.decrypt(Nonce::from_slice(nonce), ct) {
                return String::from_utf8(pt).map_err(|_| "corrupt secret".into());
            }
        }
        Err("the secret (legacy format v1) cannot be opened with PATCHBAY_SECRET_KEY or PATCHBAY_SECRET_KEY_PREVIOUS"
            .into())
    }

    /// Whether a sealed value is already in the current format under the current key.
    pub fn is_current(&self, sealed: &str) -> bool {
        sealed.strip_prefix(V2).and_then(|r| r.split_once(':')).is_some_and(|(kid, _)| kid == self.current.id)
    }

    /// Re-seal a value under the current key; `None` when it already is.
    pub fn reseal(&self, sealed: &str) -> Result<Option<String>, String> {
        if self.is_current(sealed) {
            return Ok(None);
        }
        self.seal(&self.open(sealed)?).map(Some)
    }
}

/// What `patchbay rotate-secrets` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RotationReport {
    /// Values re-sealed under the current key.
    pub resealed: usize,
    /// Values that already were.
    pub current: usize,
    /// `table row: reason` of values that could not be opened (left unchanged).
    pub failed: Vec<String>,
}

/// Re-seal every sealed value in the database under the current key: IdP client secrets
/// (`sso_configs.client_secret_enc`) and partner API credentials
/// (`provider_adapters.credentials_sealed`). Idempotent; each row is updated only if it
/// still holds the value that was read, so a concurrent change is never overwritten.
/// Audited as `secrets.resealed` with the counts.
pub async fn rotate_sealed(
    db: &sea_orm::DatabaseConnection,
    sealer: &Sealer,
    actor: crate::audit::ssr::Actor,
) -> Result<RotationReport, crate::error::AppError> {
    use entity::{provider_adapter, sso_config};
    use sea_orm::sea_query::Expr;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

    let mut report = RotationReport::default();
    let txn = db.begin_write().await?;
    let mut step = |table: &str, row: &str, sealed: &str| -> Option<String> {
        match sealer.reseal(sealed) {
            Ok(None) => {
                report.current += 1;
                None
            }
            Ok(Some(new)) => {
                report.resealed += 1;
                Some(new)
            }
            Err(e) => {
                report.failed.push(format!("{table} {row}: {e}"));
                None
            }
        }
    };
    let mut sso_updates = Vec::new();
    for c in sso_config::Entity::find().all(&txn).await? {
        if c.client_secret_enc.is_empty() {
            continue;
        }
        if let Some(new) = step("sso_configs", &c.tenant_id, &c.client_secret_enc) {
            sso_updates.push((c.tenant_id, c.client_secret_enc, new));
        }
    }
    let mut adapter_updates = Vec::new();
    for a in provider_adapter::Entity::find()
        .filter(provider_adapter::Column::CredentialsSealed.is_not_null())
        .all(&txn)
        .await?
    {
        let Some(old) = a.credentials_sealed else { continue };
        if let Some(new) = step("provider_adapters", &a.provider_id, &old) {
            adapter_updates.push((a.provider_id, old, new));
        }
    }
    for (id, old, new) in sso_updates {
        sso_config::Entity::update_many()
            .col_expr(sso_config::Column::ClientSecretEnc, Expr::value(new))
            // By primary key (the row was read above, in this transaction).
            .filter(sso_config::Column::TenantId.eq(id))
            .filter(sso_config::Column::ClientSecretEnc.eq(old))
            .exec(&txn)
            .await?;
    }
    for (id, old, new) in adapter_updates {
        provider_adapter::Entity::update_many()
            .col_expr(provider_adapter::Column::CredentialsSealed, Expr::value(new))
            .filter(provider_adapter::Column::ProviderId.eq(id))
            .filter(provider_adapter::Column::CredentialsSealed.eq(old))
            .exec(&txn)
            .await?;
    }
    crate::audit::ssr::record(
        &txn,
        crate::audit::ssr::NewEvent::platform(
            actor,
            "secrets.resealed",
            "secret_key",
            Some(sealer.key_id().to_string()),
            report.failed.is_empty(),
            serde_json::json!({
                "key_id": sealer.key_id(),
                "previous_key_id": sealer.previous_key_id(),
                "resealed": report.resealed,
                "already_current": report.current,
                "failed": report.failed,
            }),
        ),
    )
    .await?;
    txn.commit().await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::Sealer;
    use base64::Engine;
    use sha2::{Digest, Sha256};

    #[test]
    fn sealed_secrets_round_trip_and_hide_the_plaintext() {
        let s = Sealer::new("a key of some length");
        let sealed = s.seal("client-secret-123").unwrap();
        assert!(!sealed.contains("client-secret-123"));
        assert!(sealed.starts_with(&format!("v2:{}:", s.key_id())), "{sealed}");
        assert_eq!(s.key_id().len(), 16);
        assert_ne!(sealed, s.seal("client-secret-123").unwrap(), "fresh nonce each time");
        assert_eq!(s.open(&sealed).unwrap(), "client-secret-123");
        assert!(s.is_current(&sealed));
        assert_eq!(s.reseal(&sealed).unwrap(), None);
    }

    #[test]
    fn another_key_cannot_open_it_and_tampering_is_detected() {
        let sealed = Sealer::new("key one").seal("x").unwrap();
        let err = Sealer::new("key two").open(&sealed).unwrap_err();
        assert!(err.contains("neither PATCHBAY_SECRET_KEY"), "{err}");
        let mut t = sealed.clone();
        t.pop();
        t.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(Sealer::new("key one").open(&t).is_err());
        // The key id is bound to the ciphertext: relabelling it is detected too.
        let other = Sealer::new("key two");
        let relabelled = sealed.replacen(Sealer::new("key one").key_id(), other.key_id(), 1);
        assert!(other.with_previous("key one").open(&relabelled).is_err());
    }

    #[test]
    fn keys_are_separated_by_purpose_and_ids_do_not_reveal_the_key() {
        let a = Sealer::new("same secret");
        assert_eq!(a.key_id(), Sealer::new("same secret").key_id(), "deterministic");
        assert_ne!(a.key_id(), Sealer::new("other secret").key_id());
        // The key id is not a prefix of the bare SHA-256 of the secret (the old derivation).
        let bare: String = Sha256::digest(b"same secret").iter().map(|b| format!("{b:02x}")).collect();
        assert!(!bare.starts_with(a.key_id()));
    }

    #[test]
    fn rotation_opens_old_values_with_the_previous_key_and_reseals_them() {
        let a = Sealer::new("key A, the old one");
        let sealed_a = a.seal("partner-token").unwrap();
        let b_only = Sealer::new("key B, the new one");
        assert!(b_only.open(&sealed_a).is_err());
        let b = b_only.clone().with_previous("key A, the old one");
        assert_eq!(b.open(&sealed_a).unwrap(), "partner-token");
        assert!(!b.is_current(&sealed_a));
        let resealed = b.reseal(&sealed_a).unwrap().expect("re-sealed");
        assert_eq!(b.reseal(&resealed).unwrap(), None, "idempotent");
        assert_eq!(b_only.open(&resealed).unwrap(), "partner-token", "opens after A is dropped");
    }

    #[test]
    fn legacy_bare_sha256_values_still_open_and_are_resealed() {
        use aes_gcm::aead::{Aead, KeyInit};
        let secret = "the deployment's key";
        let mut h = Sha256::new();
        h.update(b"patchbay/secrets-at-rest/v1\0");
        h.update(secret.as_bytes());
        let key = h.finalize();
        let cipher = aes_gcm::Aes256Gcm::new(aes_gcm::Key::<aes_gcm::Aes256Gcm>::from_slice(&key));
        let nonce = [7u8; 12];
        let mut bytes = nonce.to_vec();
        bytes.extend(cipher.encrypt(aes_gcm::Nonce::from_slice(&nonce), b"old-secret".as_ref()).unwrap());
        let legacy = format!("v1:{}", base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes));

        assert_eq!(Sealer::new(secret).open(&legacy).unwrap(), "old-secret");
        let rotated = Sealer::new("a new key").with_previous(secret);
        assert_eq!(rotated.open(&legacy).unwrap(), "old-secret");
        let v2 = rotated.reseal(&legacy).unwrap().expect("legacy values are always re-sealed");
        assert!(v2.starts_with("v2:"));
        assert!(Sealer::new(secret).reseal(&legacy).unwrap().is_some(), "legacy under the current key too");
        assert!(Sealer::new("unrelated").open(&legacy).is_err());
    }
}
