// The test identity provider (end2end/oidc/idp.mjs) on its own, without Patchbay or a
// browser: discovery, keys, and the authorization-code flow with PKCE driven by plain HTTP,
// exactly as the Rust integration tests drive it (see end2end/oidc/README.md).
import assert from 'node:assert/strict';
import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import { startIdp } from '../oidc/idp.mjs';

const APP = 'http://127.0.0.1:3999';
const REDIRECT_URI = `${APP}/auth/oidc/callback`;
const POST_LOGOUT_URI = `${APP}/login`;
const ACME = { id: 'patchbay-acme', secret: 'acme-client-secret-for-tests' };

/** A minimal cookie jar that honours Path (all the IdP's cookies are host-only). */
class Jar {
  cookies = new Map(); // `${path}\n${name}` -> { name, value, path }

  store(res) {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';').map((s) => s.trim());
      const i = pair.indexOf('=');
      const name = pair.slice(0, i);
      const value = pair.slice(i + 1);
      const path = attrs.find((a) => a.toLowerCase().startsWith('path='))?.slice(5) || '/';
      const expired = attrs.some((a) => /^expires=.*1970/i.test(a)) || value === '';
      const key = `${path}\n${name}`;
      if (expired) this.cookies.delete(key);
      else this.cookies.set(key, { name, value, path });
    }
  }

  header(url) {
    const { pathname } = new URL(url);
    return [...this.cookies.values()]
      .filter((c) => pathname === c.path || pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }
}

async function request(jar, url, init = {}) {
  const res = await fetch(url, {
    ...init,
    redirect: 'manual',
    headers: { ...(init.headers ?? {}), cookie: jar.header(url) },
  });
  jar.store(res);
  return res;
}

const b64url = (buf) => Buffer.from(buf).toString('base64url');
const decodeJwt = (jwt) => {
  const [h, p, s] = jwt.split('.');
  return { header: JSON.parse(Buffer.from(h, 'base64url')), payload: JSON.parse(Buffer.from(p, 'base64url')), h, p, s };
};

/** authorize -> login page -> POST login -> resume -> callback URL. Returns { callback, jar, trace }. */
async function signIn(idp, { login, params = {}, jar = new Jar() }) {
  const authorize = new URL(`${idp.issuer}/auth`);
  for (const [k, v] of Object.entries(params)) authorize.searchParams.set(k, v);
  const trace = [];
  let url = authorize.toString();
  for (let i = 0; i < 10; i++) {
    if (url.startsWith(APP)) return { callback: new URL(url), jar, trace };
    const res = await request(jar, url);
    trace.push(`${res.status} GET ${new URL(url).pathname}`);
    if (res.status >= 300 && res.status < 400) {
      url = new URL(res.headers.get('location'), url).toString();
      continue;
    }
    const html = await res.text();
    assert.equal(res.status, 200, `IdP page ${url}: ${html}`);
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1]?.replace(/&amp;/g, '&');
    assert.ok(action, `a form on ${url}`);
    const prompt = /name="prompt" value="([^"]+)"/.exec(html)?.[1];
    assert.equal(prompt, 'login', `only the login prompt is shown (no consent page): ${html}`);
    const body = new URLSearchParams({ prompt, login, password: 'any-password' });
    const post = await request(jar, action, { method: 'POST', body });
    trace.push(`${post.status} POST ${new URL(action).pathname}`);
    assert.equal(post.status, 303);
    url = new URL(post.headers.get('location'), action).toString();
  }
  throw new Error(`never came back to the app: ${trace.join(', ')}`);
}

function pkce() {
  const verifier = b64url(randomBytes(32));
  return { verifier, challenge: b64url(createHash('sha256').update(verifier).digest()) };
}

async function token(idp, client, form) {
  const res = await fetch(`${idp.issuer}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${client.id}:${client.secret}`).toString('base64')}` },
    body: new URLSearchParams(form),
  });
  return { status: res.status, json: await res.json() };
}

describe('test identity provider (claims in the ID token too)', () => {
  let idp;

  before(async () => {
    idp = await startIdp({
      port: 0,
      redirectUris: [REDIRECT_URI],
      postLogoutRedirectUris: [POST_LOGOUT_URI],
      claimsInIdToken: true,
    });
  });
  after(async () => {
    await idp?.close();
  });

  it('serves discovery with the exact issuer and the test key', async () => {
    assert.match(idp.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
    const discovery = await (await fetch(`${idp.issuer}/.well-known/openid-configuration`)).json();
    assert.equal(discovery.issuer, idp.issuer);
    assert.equal(discovery.authorization_endpoint, `${idp.issuer}/auth`);
    assert.equal(discovery.token_endpoint, `${idp.issuer}/token`);
    assert.equal(discovery.end_session_endpoint, `${idp.issuer}/session/end`);
    assert.ok(discovery.scopes_supported.includes('groups'));
    assert.deepEqual(discovery.id_token_signing_alg_values_supported, ['RS256']);
    const jwks = await (await fetch(discovery.jwks_uri)).json();
    assert.equal(jwks.keys.length, 1);
    assert.equal(jwks.keys[0].kid, 'patchbay-test-key');
    assert.equal(jwks.keys[0].d, undefined, 'no private parts in the JWKS');
  });

  it('runs the code flow with PKCE and issues an ID token with the profile claims', async () => {
    const { verifier, challenge } = pkce();
    const { callback, trace } = await signIn(idp, {
      login: 'alice',
      params: {
        response_type: 'code',
        client_id: ACME.id,
        redirect_uri: REDIRECT_URI,
        scope: 'openid email profile groups',
        state: 'state-1',
        nonce: 'nonce-1',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      },
    });
    assert.deepEqual(
      trace.map((t) => t.replace(/\/[A-Za-z0-9_-]{20,}$/, '/<uid>')),
      ['303 GET /auth', '200 GET /interaction/<uid>', '303 POST /interaction/<uid>', '303 GET /auth/<uid>'],
    );
    assert.equal(callback.origin + callback.pathname, REDIRECT_URI);
    assert.equal(callback.searchParams.get('state'), 'state-1');
    assert.equal(callback.searchParams.get('iss'), idp.issuer);
    const code = callback.searchParams.get('code');
    assert.ok(code);

    const { status, json } = await token(idp, ACME, {
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    });
    assert.equal(status, 200, JSON.stringify(json));
    const { header, payload, h, p, s } = decodeJwt(json.id_token);
    assert.equal(header.alg, 'RS256');
    assert.equal(header.kid, 'patchbay-test-key');
    const jwks = await (await fetch(`${idp.issuer}/jwks`)).json();
    const key = createPublicKey({ key: jwks.keys[0], format: 'jwk' });
    assert.ok(verify('sha256', Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url')), 'signature verifies');
    assert.equal(payload.iss, idp.issuer);
    assert.equal(payload.aud, ACME.id);
    assert.equal(payload.sub, 'alice');
    assert.equal(payload.nonce, 'nonce-1');
    assert.equal(payload.email, 'alice@acme.example');
    assert.equal(payload.email_verified, true);
    assert.equal(payload.name, 'Alice Ops');
    assert.deepEqual(payload.groups, ['noc-ops', 'staff']);

    const me = await fetch(`${idp.issuer}/me`, { headers: { authorization: `Bearer ${json.access_token}` } });
    assert.equal((await me.json()).email, 'alice@acme.example');
  });

  it('treats the e-mail address as the same account (login_hint pre-fills it)', async () => {
    const { verifier, challenge } = pkce();
    const { callback } = await signIn(idp, {
      login: 'bob@acme.example',
      params: {
        response_type: 'code',
        client_id: ACME.id,
        redirect_uri: REDIRECT_URI,
        scope: 'openid email profile groups',
        state: 's',
        nonce: 'n',
        login_hint: 'bob@acme.example',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      },
    });
    const { json } = await token(idp, ACME, {
      grant_type: 'authorization_code',
      code: callback.searchParams.get('code'),
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    });
    const { payload } = decodeJwt(json.id_token);
    assert.equal(payload.sub, 'bob');
    assert.equal(payload.email, 'bob@acme.example');
    assert.equal(payload.email_verified, undefined);
    assert.deepEqual(payload.groups, ['staff']);
  });

  it('requires PKCE, and the right verifier', async () => {
    const noPkce = await signIn(idp, {
      login: 'alice',
      params: { response_type: 'code', client_id: ACME.id, redirect_uri: REDIRECT_URI, scope: 'openid', state: 's' },
    }).catch((err) => err);
    // Without code_challenge the IdP answers the authorization request with an error
    // redirect straight away (before any login page).
    assert.ok(!(noPkce instanceof Error), String(noPkce));
    assert.equal(noPkce.callback.searchParams.get('error'), 'invalid_request');

    const { challenge } = pkce();
    const { callback } = await signIn(idp, {
      login: 'alice',
      params: {
        response_type: 'code',
        client_id: ACME.id,
        redirect_uri: REDIRECT_URI,
        scope: 'openid',
        state: 's',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      },
    });
    const { status, json } = await token(idp, ACME, {
      grant_type: 'authorization_code',
      code: callback.searchParams.get('code'),
      redirect_uri: REDIRECT_URI,
      code_verifier: pkce().verifier,
    });
    assert.equal(status, 400);
    assert.equal(json.error, 'invalid_grant');
  });

  it('signs out through the end-session endpoint with a confirmation', async () => {
    const { verifier, challenge } = pkce();
    const { callback, jar } = await signIn(idp, {
      login: 'alice',
      params: {
        response_type: 'code',
        client_id: ACME.id,
        redirect_uri: REDIRECT_URI,
        scope: 'openid',
        state: 's',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      },
    });
    const { json } = await token(idp, ACME, {
      grant_type: 'authorization_code',
      code: callback.searchParams.get('code'),
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    });
    // Only what the requested scopes allow, although the grant would allow more.
    const { payload } = decodeJwt(json.id_token);
    assert.equal(payload.sub, 'alice');
    assert.equal(payload.email, undefined);
    assert.equal(payload.groups, undefined);
    const end = new URL(`${idp.issuer}/session/end`);
    end.searchParams.set('id_token_hint', json.id_token);
    end.searchParams.set('post_logout_redirect_uri', POST_LOGOUT_URI);
    end.searchParams.set('state', 'bye');
    const page = await request(jar, end.toString());
    const html = await page.text();
    assert.equal(page.status, 200);
    assert.match(html, /Yes, sign me out/);
    const action = /<form id="op.logoutForm" method="post" action="([^"]+)"/.exec(html)[1];
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)[1];
    const confirm = await request(jar, action, { method: 'POST', body: new URLSearchParams({ xsrf, logout: 'yes' }) });
    assert.equal(confirm.status, 303);
    assert.equal(confirm.headers.get('location'), `${POST_LOGOUT_URI}?state=bye`);

    // The IdP session is gone: the next sign-in shows the login page again.
    const again = await signIn(idp, {
      login: 'alice',
      jar,
      params: {
        response_type: 'code',
        client_id: ACME.id,
        redirect_uri: REDIRECT_URI,
        scope: 'openid',
        state: 's',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      },
    });
    assert.ok(again.trace.some((t) => t.startsWith('200 GET /interaction/')), again.trace.join(', '));
  });

  it('refuses an unregistered redirect URI', async () => {
    const res = await fetch(
      `${idp.issuer}/auth?${new URLSearchParams({
        response_type: 'code',
        client_id: ACME.id,
        redirect_uri: 'http://127.0.0.1:1/evil',
        scope: 'openid',
        code_challenge: pkce().challenge,
        code_challenge_method: 'S256',
      })}`,
      { redirect: 'manual' },
    );
    assert.equal(res.status, 400);
  });
});

describe('test identity provider with its defaults (claims from UserInfo only)', () => {
  let idp;

  before(async () => {
    idp = await startIdp({ port: 0, redirectUris: [REDIRECT_URI], postLogoutRedirectUris: [POST_LOGOUT_URI] });
  });
  after(async () => {
    await idp?.close();
  });

  it('keeps e-mail, name and groups out of the ID token and serves them at UserInfo', async () => {
    const { verifier, challenge } = pkce();
    const { callback } = await signIn(idp, {
      login: 'alice',
      params: {
        response_type: 'code',
        client_id: ACME.id,
        redirect_uri: REDIRECT_URI,
        scope: 'openid email profile groups',
        state: 'state-d',
        nonce: 'nonce-d',
        code_challenge: challenge,
        code_challenge_method: 'S256',
      },
    });
    const { status, json } = await token(idp, ACME, {
      grant_type: 'authorization_code',
      code: callback.searchParams.get('code'),
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
    });
    assert.equal(status, 200, JSON.stringify(json));
    const { payload } = decodeJwt(json.id_token);
    assert.equal(payload.sub, 'alice');
    for (const claim of ['email', 'email_verified', 'name', 'groups']) assert.equal(payload[claim], undefined, claim);
    const me = await (await fetch(`${idp.issuer}/me`, { headers: { authorization: `Bearer ${json.access_token}` } })).json();
    assert.equal(me.sub, 'alice');
    assert.equal(me.email, 'alice@acme.example');
    assert.equal(me.email_verified, true);
    assert.equal(me.name, 'Alice Ops');
    assert.deepEqual(me.groups, ['noc-ops', 'staff']);
  });
});
