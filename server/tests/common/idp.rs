//! A real OpenID provider for tests: `end2end/oidc/idp.mjs` (npm `oidc-provider`)
//! in a child process on a loopback port, and a browser-less driver for its
//! login pages.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const CLIENT_ID: &str = "patchbay-acme";
pub const CLIENT_SECRET: &str = "acme-client-secret-for-tests";

pub struct Idp {
    pub issuer: String,
    child: Child,
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Idp {
    /// Start the provider with `redirect_uri` registered for both test clients, with
    /// oidc-provider's defaults: e-mail, name and groups only from UserInfo, not in the ID token.
    pub fn start(app_base: &str) -> Idp {
        Self::start_with(app_base, false, "")
    }

    /// Start the provider so that it also puts e-mail, name and groups in the ID token.
    pub fn start_with_id_token_claims(app_base: &str) -> Idp {
        Self::start_with(app_base, true, "")
    }

    /// Start a provider whose UserInfo answers for the subject `sub`, whoever signed in.
    pub fn start_with_userinfo_for(app_base: &str, sub: &str) -> Idp {
        Self::start_with(app_base, false, sub)
    }

    fn start_with(app_base: &str, claims_in_id_token: bool, tamper_userinfo_sub: &str) -> Idp {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../end2end/oidc/idp.mjs");
        let mut child = Command::new("node")
            .arg(script)
            .env("IDP_CLAIMS_IN_ID_TOKEN", if claims_in_id_token { "1" } else { "0" })
            .env("IDP_TAMPER_USERINFO_SUB", tamper_userinfo_sub)
            .env("IDP_PORT", "0")
            .env("IDP_REDIRECT_URIS", format!("{app_base}/auth/oidc/callback"))
            .env("IDP_POST_LOGOUT_REDIRECT_URIS", format!("{app_base}/login"))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the test identity provider (node end2end/oidc/idp.mjs; run `npm ci` first)");
        let stdout = child.stdout.take().expect("idp stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(issuer) = line.strip_prefix("IDP_READY ") {
                    let _ = tx.send(issuer.trim().to_string());
                }
            }
        });
        let issuer = rx.recv_timeout(Duration::from_secs(30)).expect("the identity provider did not start in 30 s");
        Idp { issuer, child }
    }
}

fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!("{name}=\"");
    let start = tag.find(&key)? + key.len();
    let end = tag[start..].find('"')? + start;
    Some(&tag[start..end])
}

fn absolute(base: &str, location: &str) -> String {
    if location.starts_with("http") { location.to_string() } else { format!("{base}{location}") }
}

/// Follow a sign-in from Patchbay's redirect to the IdP until the IdP sends the
/// browser back to Patchbay's callback; returns that callback URL (not yet visited).
/// `login` is the account typed on the IdP's login page.
pub async fn sign_in_at_idp(http: &reqwest::Client, issuer: &str, authorize_url: &str, login: &str) -> String {
    let mut url = authorize_url.to_string();
    for _ in 0..12 {
        if url.contains("/auth/oidc/callback") {
            return url;
        }
        let res = http.get(&url).send().await.expect("idp request");
        if res.status().is_redirection() {
            let loc = res.headers()["location"].to_str().expect("location").to_string();
            url = absolute(issuer, &loc);
            continue;
        }
        let html = res.text().await.expect("idp page");
        // An interaction page: submit its form (login, or consent).
        let form_start = html.find("<form").unwrap_or_else(|| panic!("no form on IdP page {url}: {html}"));
        let form_tag = &html[form_start..html[form_start..].find('>').map(|e| e + form_start).unwrap_or(html.len())];
        let action = attr(form_tag, "action").expect("form action").replace("&amp;", "&");
        let mut fields: Vec<(String, String)> = Vec::new();
        let mut rest = &html[form_start..];
        while let Some(i) = rest.find("<input") {
            let end = rest[i..].find('>').map(|e| e + i).unwrap_or(rest.len());
            let tag = &rest[i..end];
            if let Some(name) = attr(tag, "name") {
                let value = match name {
                    "login" => login.to_string(),
                    "password" => "any-password".to_string(),
                    _ => attr(tag, "value").unwrap_or("").to_string(),
                };
                fields.push((name.to_string(), value));
            }
            rest = &rest[end..];
        }
        let res = http.post(absolute(issuer, &action)).form(&fields).send().await.expect("idp form post");
        assert!(res.status().is_redirection(), "IdP form post answered {}", res.status());
        url = absolute(issuer, res.headers()["location"].to_str().expect("location"));
    }
    panic!("the IdP never redirected back to Patchbay (last URL {url})");
}
