//! The audit hash chain, with no I/O: each event's hash covers its canonical
//! form and the previous event's hash, so editing, deleting or reordering any
//! row breaks every hash after it.
use sha2::{Digest, Sha256};

/// The hash that starts every chain.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The chain name for platform-wide events (no tenant).
pub const PLATFORM_CHAIN: &str = "platform";

/// The hashed fields of one audit event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Canonical<'a> {
    pub chain: &'a str,
    pub seq: i64,
    pub at: &'a str,
    pub tenant_id: Option<&'a str>,
    pub actor_type: &'a str,
    pub actor_id: Option<&'a str>,
    pub actor_label: &'a str,
    pub action: &'a str,
    pub resource_type: &'a str,
    pub resource_id: Option<&'a str>,
    pub outcome: &'a str,
    pub details: &'a str,
    pub trace_id: Option<&'a str>,
    pub prev_hash: &'a str,
}

impl Canonical<'_> {
    /// SHA-256 (hex) of the length-prefixed fields, so no two different rows
    /// share a pre-image however their text is chosen.
    pub fn hash(&self) -> String {
        let mut h = Sha256::new();
        let fields: [Option<&str>; 13] = [
            Some(self.chain),
            Some(self.at),
            self.tenant_id,
            Some(self.actor_type),
            self.actor_id,
            Some(self.actor_label),
            Some(self.action),
            Some(self.resource_type),
            self.resource_id,
            Some(self.outcome),
            Some(self.details),
            self.trace_id,
            Some(self.prev_hash),
        ];
        h.update(self.seq.to_be_bytes());
        for f in fields {
            match f {
                None => h.update([0u8]),
                Some(s) => {
                    h.update([1u8]);
                    h.update((s.len() as u64).to_be_bytes());
                    h.update(s.as_bytes());
                }
            }
        }
        hex::encode(h.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Canonical<'static> {
        Canonical {
            chain: "t1",
            seq: 1,
            at: "2026-11-23T08:00:00.000000Z",
            tenant_id: Some("t1"),
            actor_type: "user",
            actor_id: Some("u1"),
            actor_label: "a@example.com",
            action: "user.invited",
            resource_type: "user",
            resource_id: None,
            outcome: "success",
            details: "{}",
            trace_id: None,
            prev_hash: GENESIS,
        }
    }

    #[test]
    fn hash_is_stable_and_hex() {
        let a = sample().hash();
        assert_eq!(a, sample().hash());
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn every_field_changes_the_hash() {
        let base = sample().hash();
        let mut c = sample();
        c.seq = 2;
        assert_ne!(c.hash(), base);
        let mut c = sample();
        c.details = "{\"x\":1}";
        assert_ne!(c.hash(), base);
        let mut c = sample();
        c.resource_id = Some("");
        assert_ne!(c.hash(), base, "None and empty must differ");
        let mut c = sample();
        c.prev_hash = "ff";
        assert_ne!(c.hash(), base);
    }

    #[test]
    fn field_boundaries_are_unambiguous() {
        let mut a = sample();
        a.actor_label = "ab";
        a.action = "c";
        let mut b = sample();
        b.actor_label = "a";
        b.action = "bc";
        assert_ne!(a.hash(), b.hash());
    }
}
