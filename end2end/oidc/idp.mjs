// A real OpenID provider for tests: npm `oidc-provider` (panva) on a loopback port, with
// its development login pages, two static confidential clients and a handful of accounts.
//
// As a script:   IDP_PORT=0 IDP_REDIRECT_URIS=http://127.0.0.1:3000/auth/oidc/callback \
//                IDP_POST_LOGOUT_REDIRECT_URIS=http://127.0.0.1:3000/login node end2end/oidc/idp.mjs
//   IDP_CLAIMS_IN_ID_TOKEN=1 also puts the scopes' claims (email, name, groups) in the ID
//   token; by default (oidc-provider's own default, as the OpenID Connect spec says for
//   scope-requested claims when an access token is issued) they come from UserInfo only,
//   and the ID token carries just `sub` and the protocol claims.
//   IDP_TAMPER_USERINFO_SUB=<sub> makes UserInfo answer for another subject (a test of the
//   relying party's `sub` check; never use it otherwise).
//   prints exactly one line `IDP_READY http://127.0.0.1:<port>` on stdout once it listens (all
//   of oidc-provider's own notices go to stderr), then runs until SIGTERM or SIGINT.
// As a module:   const idp = await startIdp({ port: 0, redirectUris, postLogoutRedirectUris, claimsInIdToken });
//                ... idp.issuer ...; await idp.close();
//
// What a browser sees (see end2end/oidc/README.md for the HTTP sequence):
//   - GET /auth?...  -> 303 to /interaction/<uid>, a "Sign-in" page with a form:
//       input[name=login] (type=text; pre-filled from login_hint), input[name=password],
//       hidden prompt=login, button[type=submit] "Sign-in". Any non-empty password works;
//       the login is the account id (see ACCOUNTS; `alice` or `alice@acme.example`).
//   - No consent page: loadExistingGrant grants our clients openid/email/profile/groups.
//   - Sign-out (GET /session/end?id_token_hint=..&post_logout_redirect_uri=..): while the IdP
//     session exists, a confirmation page with the button "Yes, sign me out" (and "No, stay
//     signed in"); without an IdP session, an auto-submitting form (with JavaScript off: a
//     "Continue" button). Then 303 to post_logout_redirect_uri.
import { createPrivateKey } from 'node:crypto';
import { readFileSync, realpathSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));

export const KEY_ID = 'patchbay-test-key';
export const CLIENTS = {
  acme: { id: 'patchbay-acme', secret: 'acme-client-secret-for-tests' },
  other: { id: 'patchbay-other', secret: 'other-client-secret-for-tests' },
};
export const DEFAULT_REDIRECT_URIS = ['http://127.0.0.1:3000/auth/oidc/callback'];
export const DEFAULT_POST_LOGOUT_REDIRECT_URIS = ['http://127.0.0.1:3000/login'];
const SCOPES = ['openid', 'offline_access', 'email', 'profile', 'groups'];
/** What our clients are granted without a consent page. */
const GRANTED_SCOPE = 'openid email profile groups';
const GRANTED_CLAIMS = ['sub', 'email', 'email_verified', 'name', 'groups'];

/** Known accounts by login. Any other login signs in too (see accountFor). */
export const ACCOUNTS = {
  alice: { email: 'alice@acme.example', email_verified: true, name: 'Alice Ops', groups: ['noc-ops', 'staff'] },
  bob: { email: 'bob@acme.example', name: 'Bob Builder', groups: ['staff'] },
  eve: { email: 'eve@evil.example', name: 'Eve Outsider', groups: [] },
};

/**
 * The account for what was typed in the IdP's login field. `alice` and `alice@acme.example`
 * are the same account (sub `alice`): Patchbay may send the e-mail as login_hint, which the
 * login page pre-fills. Any other login `x` is `x@acme.example`; any other e-mail is itself.
 */
export function accountFor(typed) {
  const login = String(typed).trim().toLowerCase();
  if (ACCOUNTS[login]) return { sub: login, ...ACCOUNTS[login] };
  const known = Object.entries(ACCOUNTS).find(([, a]) => a.email === login);
  if (known) return { sub: known[0], ...known[1] };
  if (login.includes('@')) return { sub: login, email: login, name: login.split('@')[0], groups: [] };
  return { sub: login, email: `${login}@acme.example`, name: login, groups: [] };
}

/** The repository's test signing key as a private JWK (RS256, kid `patchbay-test-key`). */
export function signingJwk(file = path.join(HERE, 'test-signing-key.pem')) {
  const jwk = createPrivateKey(readFileSync(file)).export({ format: 'jwk' });
  return { ...jwk, kid: KEY_ID, alg: 'RS256', use: 'sig' };
}

// oidc-provider's stock pages @import Google Fonts; tests run offline, so leave them out.
const stripWebFonts = (html) => html.replace(/@import url\(https:\/\/fonts\.googleapis\.com[^)]*\);?/g, '');

const page = (title, body) => `<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>${title}</title>
<style>body{font-family:sans-serif;margin:25px auto;max-width:360px}button{display:block;width:100%;margin:8px 0;padding:8px}</style>
</head>
<body>${body}</body>
</html>`;

const escapeHtml = (s) =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

function configuration({ redirectUris, postLogoutRedirectUris, claimsInIdToken }) {
  const client = (id, secret) => ({
    client_id: id,
    client_secret: secret,
    application_type: 'web',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: redirectUris,
    post_logout_redirect_uris: postLogoutRedirectUris,
    id_token_signed_response_alg: 'RS256',
  });

  return {
    clients: [client(CLIENTS.acme.id, CLIENTS.acme.secret), client(CLIENTS.other.id, CLIENTS.other.secret)],
    jwks: { keys: [signingJwk()] },
    cookies: { keys: ['patchbay-test-idp-cookie-key-not-secret'] },
    scopes: SCOPES,
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
    // true (oidc-provider's default): the scopes' claims (email, name, groups) only at the
    // UserInfo endpoint. false: in the ID token of the code flow too.
    conformIdTokenClaims: !claimsInIdToken,
    // oidc-provider 9 requires PKCE only for public clients by default; be stricter, as
    // Patchbay always sends an S256 code_challenge (only S256 is supported).
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          ctx.body = page(
            'Logout Request',
            `<h1>Do you want to sign-out from ${escapeHtml(ctx.host)}?</h1>
${form}
<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button type="submit" form="op.logoutForm">No, stay signed in</button>`,
          );
        },
        async postLogoutSuccessSource(ctx) {
          ctx.body = page('Sign-out Success', '<h1>Sign-out Success</h1><p>Your sign-out was successful.</p>');
        },
      },
    },
    async findAccount(_ctx, id) {
      const account = accountFor(id);
      return {
        accountId: account.sub,
        async claims() {
          const claims = { sub: account.sub, email: account.email, name: account.name, groups: account.groups };
          if (account.email_verified !== undefined) claims.email_verified = account.email_verified;
          return claims;
        },
      };
    },
    // No consent page for our own clients: grant what they may ask for.
    async loadExistingGrant(ctx) {
      const { provider, client, session, account } = ctx.oidc;
      const grantId = ctx.oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
      let grant = grantId ? await provider.Grant.find(grantId) : undefined;
      const accountId = account?.accountId ?? session.accountId;
      if (!grant || grant.accountId !== accountId) {
        grant = new provider.Grant({ clientId: client.clientId, accountId });
      }
      grant.addOIDCScope(GRANTED_SCOPE);
      grant.addOIDCClaims(GRANTED_CLAIMS);
      await grant.save();
      return grant;
    },
    clientBasedCORS: () => false,
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = page(
        'oops! something went wrong',
        `<h1>oops! something went wrong</h1>${Object.entries(out)
          .map(([k, v]) => `<pre><strong>${escapeHtml(k)}</strong>: ${escapeHtml(v)}</pre>`)
          .join('')}`,
      );
    },
  };
}

/**
 * Start the provider on 127.0.0.1:`port` (0 = a free port). The issuer is
 * `http://127.0.0.1:<port>`, without a trailing slash. Returns { issuer, port, provider, close() }.
 */
export async function startIdp({
  port = 0,
  redirectUris = DEFAULT_REDIRECT_URIS,
  postLogoutRedirectUris = DEFAULT_POST_LOGOUT_REDIRECT_URIS,
  claimsInIdToken = false,
  tamperUserinfoSub = undefined,
} = {}) {
  const { default: Provider } = await import('oidc-provider');

  // The issuer needs the port, so listen first and attach the provider afterwards.
  let handler = (_req, res) => {
    res.statusCode = 503;
    res.end('starting');
  };
  const server = http.createServer((req, res) => handler(req, res));
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const issuer = `http://127.0.0.1:${server.address().port}`;

  const provider = new Provider(issuer, configuration({ redirectUris, postLogoutRedirectUris, claimsInIdToken }));
  provider.use(async (ctx, next) => {
    // The dev login form makes whatever was typed the session's account id, and oidc-provider
    // makes the account id the `sub`; so turn `alice@acme.example` into `alice` before it
    // gets there (the form's body parser then reads our rewritten body).
    if (ctx.method === 'POST' && /^\/interaction\/[^/]+$/.test(ctx.path) && ctx.is('application/x-www-form-urlencoded')) {
      const chunks = [];
      for await (const chunk of ctx.req) chunks.push(chunk);
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      if (form.get('login')) form.set('login', accountFor(form.get('login')).sub);
      ctx.req.body = form.toString();
    }
    await next();
    if (typeof ctx.body === 'string' && ctx.response.is('html')) ctx.body = stripWebFonts(ctx.body);
    if (tamperUserinfoSub && ctx.path === '/me' && ctx.body && typeof ctx.body === 'object') {
      ctx.body = { ...ctx.body, sub: tamperUserinfoSub };
    }
  });
  if (process.env.IDP_DEBUG) {
    provider.on('server_error', (_ctx, err) => console.error('idp server_error', err));
    for (const event of ['authorization.error', 'grant.error', 'end_session.error', 'userinfo.error']) {
      provider.on(event, (_ctx, err) => console.error(`idp ${event}`, err.message, err.error_description ?? '', err.cause?.message ?? ''));
    }
  }
  handler = provider.callback();

  const close = () =>
    new Promise((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections?.();
    });
  return { issuer, port: server.address().port, provider, close };
}

const list = (value) =>
  (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

async function main() {
  // stdout carries only the IDP_READY line; oidc-provider's notices use console.info.
  console.info = console.error;
  console.log = console.error;

  const redirectUris = list(process.env.IDP_REDIRECT_URIS);
  const postLogoutRedirectUris = list(process.env.IDP_POST_LOGOUT_REDIRECT_URIS);
  const idp = await startIdp({
    port: Number(process.env.IDP_PORT ?? 0),
    redirectUris: redirectUris.length ? redirectUris : DEFAULT_REDIRECT_URIS,
    postLogoutRedirectUris: postLogoutRedirectUris.length ? postLogoutRedirectUris : DEFAULT_POST_LOGOUT_REDIRECT_URIS,
    claimsInIdToken: ['1', 'true'].includes(process.env.IDP_CLAIMS_IN_ID_TOKEN ?? ''),
    tamperUserinfoSub: process.env.IDP_TAMPER_USERINFO_SUB || undefined,
  });
  process.stdout.write(`IDP_READY ${idp.issuer}\n`);

  const stop = async () => {
    await idp.close();
    process.exit(0);
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

const isMain = (() => {
  try {
    return process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
})();

if (isMain) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
