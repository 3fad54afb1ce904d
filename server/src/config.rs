//! Layered configuration: built-in defaults < optional TOML file < `PATCHBAY_*` environment.
use std::fmt;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

#[derive(Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Config {
    /// `development` or `production`.
    pub env: String,
    pub database_url: String,
    pub bind: String,
    /// Externally visible base URL (links in e-mail, cookie `Secure`, CSRF origin).
    pub public_url: Option<String>,
    /// Encrypts secrets at rest and signs things; required in production.
    #[serde(skip_serializing)]
    pub secret_key: Option<SecretString>,
    /// The key before the current one, during a rotation: values sealed with it still
    /// open, and `patchbay rotate-secrets` re-seals them with `secret_key`.
    #[serde(skip_serializing)]
    pub secret_key_previous: Option<SecretString>,
    #[serde(skip_serializing)]
    pub smtp_url: Option<SecretString>,
    pub smtp_from: String,
    /// Password of the demo users created by `seed-demo`.
    #[serde(skip_serializing)]
    pub demo_password: Option<SecretString>,
    /// `text` (default) or `json`.
    pub log_format: String,
    /// Where the built site (pkg/, public assets) lives.
    pub site_root: String,
    pub db_max_connections: u32,
    /// Session lifetime without activity, in hours.
    pub session_idle_hours: i64,
    /// Platform staff's identity provider (optional).
    pub oidc_issuer: Option<String>,
    pub oidc_client_id: Option<String>,
    #[serde(skip_serializing)]
    pub oidc_client_secret: Option<SecretString>,
    /// Development only: accept plain-http and loopback OpenID Connect issuers.
    pub oidc_allow_insecure_issuers: bool,
    /// Serve `/metrics` on this address (e.g. `127.0.0.1:9464`), a listener of its own.
    pub metrics_bind: Option<String>,
    /// On the main listener, `/metrics` answers only with `Authorization: Bearer <token>`
    /// (without a token it answers 404 there).
    #[serde(skip_serializing)]
    pub metrics_token: Option<SecretString>,
    /// Job workers this replica runs (0: none; `serve --no-workers` also sets none).
    pub workers: usize,
    /// A claimed job's lease, renewed at a third of it while the job runs.
    pub job_lease_ms: u64,
    /// First retry delay of a failed job step (doubled per attempt, with jitter).
    pub job_backoff_base_ms: u64,
    /// Webhooks may be delivered to loopback, private, link-local and other internal
    /// addresses, and over plain http (`PATCHBAY_WEBHOOKS_ALLOW_PRIVATE`: for on-premises receivers and tests).
    pub webhooks_allow_private: bool,
    /// First webhook retry delay (four times longer per attempt, with jitter, capped at 1 h).
    pub webhook_retry_base_ms: u64,
    /// Pause before asking a provider for progress again.
    pub provision_poll_ms: u64,
    /// A provider call slower than this is a transient failure.
    pub adapter_timeout_ms: u64,
    /// An idle worker looks for due jobs this often.
    pub worker_idle_ms: u64,
    /// Event streams re-read the outbox this often without a nudge.
    pub live_fallback_ms: u64,
    /// Development only: platform admins may sign in without a second factor
    /// (`PATCHBAY_DEV_MFA_OPTIONAL_FOR_ADMINS`; `cargo xtask run` and the test harness
    /// set it). Refused when `PATCHBAY_ENV=production`.
    pub dev_mfa_optional_for_admins: bool,
}

/// The site directory of this build (cargo-leptos writes it under the workspace target dir).
fn default_site_root() -> String {
    if let Ok(root) = std::env::var("LEPTOS_SITE_ROOT") {
        return root;
    }
    let built = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/site");
    if std::path::Path::new(built).exists() { built.to_string() } else { "target/site".to_string() }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            env: "development".into(),
            database_url: "sqlite://data/patchbay.db?mode=rwc".into(),
            bind: "127.0.0.1:3000".into(),
            public_url: None,
            secret_key: None,
            secret_key_previous: None,
            smtp_url: None,
            smtp_from: "Patchbay <no-reply@patchbay.example>".into(),
            demo_password: None,
            log_format: "text".into(),
            site_root: default_site_root(),
            db_max_connections: 10,
            session_idle_hours: 12,
            oidc_issuer: None,
            oidc_client_id: None,
            oidc_client_secret: None,
            oidc_allow_insecure_issuers: false,
            metrics_bind: None,
            metrics_token: None,
            workers: 4,
            job_lease_ms: 30_000,
            job_backoff_base_ms: 5_000,
            webhooks_allow_private: false,
            webhook_retry_base_ms: 1_000,
            provision_poll_ms: 2_000,
            adapter_timeout_ms: 30_000,
            worker_idle_ms: 250,
            live_fallback_ms: 15_000,
            dev_mfa_optional_for_admins: false,
        }
    }
}

fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("[redacted]"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |s: &Option<SecretString>| if s.is_some() { "[redacted]" } else { "unset" };
        f.debug_struct("Config")
            .field("env", &self.env)
            .field("database_url", &redact_url(&self.database_url))
            .field("bind", &self.bind)
            .field("public_url", &self.public_url)
            .field("secret_key", &set(&self.secret_key))
            .field("secret_key_previous", &set(&self.secret_key_previous))
            .field("smtp_url", &set(&self.smtp_url))
            .field("smtp_from", &self.smtp_from)
            .field("demo_password", &set(&self.demo_password))
            .field("log_format", &self.log_format)
            .field("site_root", &self.site_root)
            .field("db_max_connections", &self.db_max_connections)
            .field("session_idle_hours", &self.session_idle_hours)
            .field("oidc_issuer", &self.oidc_issuer)
            .field("oidc_client_id", &self.oidc_client_id)
            .field("oidc_client_secret", &set(&self.oidc_client_secret))
            .field("oidc_allow_insecure_issuers", &self.oidc_allow_insecure_issuers)
            .field("metrics_bind", &self.metrics_bind)
            .field("metrics_token", &set(&self.metrics_token))
            .field("workers", &self.workers)
            .field("job_lease_ms", &self.job_lease_ms)
            .field("job_backoff_base_ms", &self.job_backoff_base_ms)
            .field("webhooks_allow_private", &self.webhooks_allow_private)
            .field("webhook_retry_base_ms", &self.webhook_retry_base_ms)
            .field("provision_poll_ms", &self.provision_poll_ms)
            .field("adapter_timeout_ms", &self.adapter_timeout_ms)
            .field("worker_idle_ms", &self.worker_idle_ms)
            .field("live_fallback_ms", &self.live_fallback_ms)
            .field("dev_mfa_optional_for_admins", &self.dev_mfa_optional_for_admins)
            .finish()
    }
}

impl Config {
    /// Load defaults, then the TOML file (if given), then `PATCHBAY_*` variables.
    pub fn load(file: Option<&std::path::Path>) -> anyhow::Result<Self> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            anyhow::ensure!(path.exists(), "config file {} does not exist", path.display());
            fig = fig.merge(Toml::file(path));
        }
        let cfg: Config = fig.merge(Env::prefixed("PATCHBAY_")).extract()?;
        cfg.validate()?;
        Ok(cfg)
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.env == "development" || self.env == "production",
            "PATCHBAY_ENV must be development or production"
        );
        if self.is_production() {
            match &self.secret_key {
                Some(k) if k.expose_secret().len() >= 32 => {}
                _ => anyhow::bail!(
                    "PATCHBAY_SECRET_KEY (at least 32 characters) is required when PATCHBAY_ENV=production"
                ),
            }
        }
        anyhow::ensure!(
            !(self.is_production() && self.dev_mfa_optional_for_admins),
            "PATCHBAY_DEV_MFA_OPTIONAL_FOR_ADMINS is for development only; unset it when PATCHBAY_ENV=production"
        );
        let oidc_parts = [self.oidc_issuer.is_some(), self.oidc_client_id.is_some(), self.oidc_client_secret.is_some()];
        anyhow::ensure!(
            oidc_parts.iter().all(|p| *p) || oidc_parts.iter().all(|p| !*p),
            "set all of PATCHBAY_OIDC_ISSUER, PATCHBAY_OIDC_CLIENT_ID and PATCHBAY_OIDC_CLIENT_SECRET, or none"
        );
        self.bind
            .parse::<std::net::SocketAddr>()
            .map_err(|e| anyhow::anyhow!("PATCHBAY_BIND={} is not an address:port ({e})", self.bind))?;
        if let Some(prev) = &self.secret_key_previous {
            anyhow::ensure!(
                self.secret_key.is_some(),
                "PATCHBAY_SECRET_KEY_PREVIOUS is set but PATCHBAY_SECRET_KEY is not: set the new key as PATCHBAY_SECRET_KEY"
            );
            anyhow::ensure!(
                self.secret_key.as_ref().is_none_or(|k| k.expose_secret() != prev.expose_secret()),
                "PATCHBAY_SECRET_KEY_PREVIOUS is the same as PATCHBAY_SECRET_KEY"
            );
        }
        anyhow::ensure!(
            !(self.is_production() && self.oidc_allow_insecure_issuers),
            "PATCHBAY_OIDC_ALLOW_INSECURE_ISSUERS is a development setting; it is refused when PATCHBAY_ENV=production"
        );
        if let Some(issuer) = &self.oidc_issuer
            && let Some(problem) =
                app::sso::ssr::issuer_problem(issuer.trim_end_matches('/'), self.oidc_allow_insecure_issuers)
        {
            anyhow::bail!("PATCHBAY_OIDC_ISSUER={issuer}: {problem}");
        }
        if let Some(m) = &self.metrics_bind {
            m.parse::<std::net::SocketAddr>()
                .map_err(|e| anyhow::anyhow!("PATCHBAY_METRICS_BIND={m} is not an address:port ({e})"))?;
        }
        if let Some(t) = &self.metrics_token {
            anyhow::ensure!(t.expose_secret().len() >= 16, "PATCHBAY_METRICS_TOKEN must be at least 16 characters");
        }
        Ok(())
    }

    pub fn is_production(&self) -> bool {
        self.env == "production"
    }

    /// The public URL, defaulting to the bind address.
    pub fn public_url(&self) -> String {
        self.public_url.clone().unwrap_or_else(|| format!("http://{}", self.bind)).trim_end_matches('/').to_string()
    }

    /// The key that seals secrets at rest. Development without PATCHBAY_SECRET_KEY
    /// uses a fixed, publicly known key (and says so); production refuses to start.
    pub fn secret_key(&self) -> String {
        match &self.secret_key {
            Some(k) => k.expose_secret().to_string(),
            None => {
                tracing::warn!("PATCHBAY_SECRET_KEY is not set: secrets are sealed with the development key");
                "patchbay-development-key-not-for-production".to_string()
            }
        }
    }

    /// The previous key during a rotation, if set.
    pub fn secret_key_previous(&self) -> Option<String> {
        self.secret_key_previous.as_ref().map(|k| k.expose_secret().to_string())
    }

    /// The sealer for secrets at rest: the current key, and the previous one if set.
    pub fn sealer(&self) -> app::crypto::Sealer {
        let sealer = app::crypto::Sealer::new(&self.secret_key());
        match self.secret_key_previous() {
            Some(prev) => sealer.with_previous(&prev),
            None => sealer,
        }
    }

    /// The signer of mailed links (unsubscribe): the current key, and the previous one if set.
    pub fn link_signer(&self) -> app::mail::ssr::LinkSigner {
        let signer = app::mail::ssr::LinkSigner::new(&self.secret_key());
        match self.secret_key_previous() {
            Some(prev) => signer.with_previous(&prev),
            None => signer,
        }
    }

    pub fn is_sqlite(&self) -> bool {
        self.database_url.starts_with("sqlite:")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_secrets() {
        let cfg = Config {
            database_url: "postgres://app:hunter2@db/patchbay".into(),
            secret_key: Some("s3cret-s3cret-s3cret-s3cret-s3cret".into()),
            smtp_url: Some("smtp://u:pw@mail".into()),
            ..Config::default()
        };
        let shown = format!("{cfg:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(!shown.contains("pw@mail"), "{shown}");
    }

    #[test]
    fn production_requires_a_secret_key() {
        let cfg = Config { env: "production".into(), ..Config::default() };
        assert!(cfg.validate().is_err());
        let cfg = Config { env: "production".into(), secret_key: Some("x".repeat(40).into()), ..Config::default() };
        assert!(cfg.validate().is_ok());
    }

    #[test]
    fn insecure_issuers_need_the_development_setting_and_never_run_in_production() {
        let http_issuer = |allow: bool, env: &str| Config {
            env: env.into(),
            secret_key: Some("x".repeat(40).into()),
            oidc_issuer: Some("http://127.0.0.1:9000".into()),
            oidc_client_id: Some("c".into()),
            oidc_client_secret: Some("s".into()),
            oidc_allow_insecure_issuers: allow,
            ..Config::default()
        };
        let err = http_issuer(false, "development").validate().unwrap_err().to_string();
        assert!(err.contains("PATCHBAY_OIDC_ISSUER") && err.contains("PATCHBAY_OIDC_ALLOW_INSECURE_ISSUERS"), "{err}");
        assert!(http_issuer(true, "development").validate().is_ok());
        assert!(http_issuer(true, "production").validate().is_err());
        assert!(!Config::default().oidc_allow_insecure_issuers, "off by default");
    }

    #[test]
    fn metrics_settings_are_checked() {
        assert!(Config { metrics_bind: Some("nowhere".into()), ..Config::default() }.validate().is_err());
        assert!(Config { metrics_token: Some("short".into()), ..Config::default() }.validate().is_err());
        let ok = Config {
            metrics_bind: Some("127.0.0.1:9464".into()),
            metrics_token: Some("a-long-enough-metrics-token".into()),
            ..Config::default()
        };
        assert!(ok.validate().is_ok());
        assert!(!format!("{ok:?}").contains("a-long-enough-metrics-token"));
    }

    #[test]
    fn a_previous_key_needs_a_current_one() {
        let cfg = Config { secret_key_previous: Some("y".repeat(40).into()), ..Config::default() };
        assert!(cfg.validate().is_err());
        let cfg = Config {
            secret_key: Some("x".repeat(40).into()),
            secret_key_previous: Some("y".repeat(40).into()),
            ..Config::default()
        };
        assert!(cfg.validate().is_ok());
        assert!(cfg.sealer().previous_key_id().is_some());
    }

    #[test]
    fn bad_bind_address_is_refused() {
        let cfg = Config { bind: "nowhere".into(), ..Config::default() };
        assert!(cfg.validate().is_err());
    }
}
