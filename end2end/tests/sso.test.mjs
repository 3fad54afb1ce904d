// Single sign-on in a real browser against a real OpenID provider (end2end/oidc/idp.mjs,
// npm oidc-provider): home-realm discovery from the e-mail address on /login, the tenant's
// own /login/acme page, role mapping from the `groups` claim, sign-out at the IdP too, and
// refusals. Everything runs twice: with JavaScript (hydrated app) and without.
//
// The tenant `acme` is configured with the server CLI before `serve`:
//   patchbay sso set --tenant acme --issuer <idp> --client-id patchbay-acme
//     --client-secret-env IDP_SECRET --domains acme.example --default-role member
//     --role-claim groups --role-map noc-ops=operator --scopes "openid email profile groups"
// IdP accounts (any password): alice (groups noc-ops, staff), bob (staff), eve (eve@evil.example).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { atPath, expectText, launchBrowser, startServer, visit, waitForHydration, withPage } from './harness.mjs';

const TEST_TIMEOUT_MS = 180_000;
const ACME = 'Acme Networks';
const IDP_CLIENT_SECRET = 'acme-client-secret-for-tests';

/** Configure acme's identity provider with the CLI, on the server's database. */
async function configureAcmeSso({ idp, patchbay }) {
  await patchbay(
    [
      'sso',
      'set',
      '--tenant',
      'acme',
      '--issuer',
      idp.issuer,
      '--client-id',
      'patchbay-acme',
      '--client-secret-env',
      'IDP_SECRET',
      '--domains',
      'acme.example',
      '--default-role',
      'member',
      '--role-claim',
      'groups',
      '--role-map',
      'noc-ops=operator',
      // The IdP releases the `groups` claim only for the `groups` scope; the CLI's default
      // scopes are "openid email profile".
      '--scopes',
      'openid email profile groups',
    ],
    { IDP_SECRET: IDP_CLIENT_SECRET },
  );
}

for (const javaScriptEnabled of [true, false]) {
  const mode = javaScriptEnabled ? 'JavaScript on' : 'JavaScript off';

  describe(`single sign-on (${mode})`, () => {
    let server;
    let browser;

    before(async () => {
      server = await startServer({ idp: true, beforeServe: configureAcmeSso });
      browser = await launchBrowser({ javaScriptEnabled });
    });

    after(async () => {
      await browser?.close();
      await server?.stop();
    });

    const shot = (name) => `${javaScriptEnabled ? 'js' : 'nojs'}-sso-${name}`;
    const atPatchbay = (pathname) => (url) => url.origin === server.baseUrl && url.pathname === pathname;
    const atIdpLogin = (url) => url.origin === server.idp.issuer && url.pathname.startsWith('/interaction/');

    /** On /login: type the e-mail, leave the password empty, and get sent to the IdP. */
    async function startWithEmail(page, email) {
      await visit(page, server.baseUrl, '/login');
      await page.getByLabel('Email', { exact: true }).fill(email);
      await page.getByLabel('Password', { exact: true }).fill('');
      await Promise.all([page.waitForURL(atIdpLogin), page.getByRole('button', { name: 'Sign in', exact: true }).click()]);
    }

    /** On the IdP's (oidc-provider devInteractions) login page: sign in as `login`. */
    async function signInAtIdp(page, login, landing) {
      await page.getByRole('heading', { name: 'Sign-in' }).waitFor();
      // Pre-filled with Patchbay's login_hint when we came from /login; either form works.
      await page.locator('input[name="login"]').fill(login);
      await page.locator('input[name="password"]').fill('any-password');
      await Promise.all([
        page.waitForURL((url) => url.origin === server.baseUrl && (!landing || url.pathname === landing)),
        page.getByRole('button', { name: 'Sign-in', exact: true }).click(),
      ]);
      await waitForHydration(page);
    }

    /** Signed out: a protected page sends us to sign-in. */
    async function assertSignedOut(page) {
      await visit(page, server.baseUrl, '/portal');
      await page.waitForURL(atPatchbay('/login'));
      await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
    }

    it('alice signs in at the IdP and lands in the console as an operator', { timeout: TEST_TIMEOUT_MS }, async () => {
      await withPage(browser, shot('alice-operator'), async (page) => {
        await startWithEmail(page, 'alice@acme.example');
        await signInAtIdp(page, 'alice', '/console');
        assert.equal(new URL(page.url()).pathname, '/console');

        await expectText(page.getByTestId('user-menu'), 'alice@acme.example');
        await expectText(page.getByTestId('current-tenant'), ACME);
        const nav = page.getByRole('navigation', { name: 'Main' });
        await nav.getByRole('link', { name: 'Overview', exact: true }).waitFor();
        assert.equal(
          await nav.getByRole('link', { name: 'Tenants', exact: true }).count(),
          0,
          'an operator does not see "Tenants"',
        );
      });
    });

    it('bob (no mapped group) lands in the portal as a member', { timeout: TEST_TIMEOUT_MS }, async () => {
      await withPage(browser, shot('bob-member'), async (page) => {
        await startWithEmail(page, 'bob@acme.example');
        await signInAtIdp(page, 'bob', '/portal');

        await expectText(page.getByTestId('user-menu'), 'bob@acme.example');
        await expectText(page.getByTestId('current-tenant'), ACME);
        const nav = page.getByRole('navigation', { name: 'Main' });
        await nav.getByRole('link', { name: 'Overview', exact: true }).waitFor();
        for (const name of ['Team', 'Audit log']) {
          assert.equal(await nav.getByRole('link', { name, exact: true }).count(), 0, `a member does not see "${name}"`);
        }
      });
    });

    it('the tenant sign-in page /login/acme offers single sign-on', { timeout: TEST_TIMEOUT_MS }, async () => {
      await withPage(browser, shot('tenant-login-page'), async (page) => {
        await visit(page, server.baseUrl, '/login/acme');
        await Promise.all([
          page.waitForURL(atIdpLogin),
          page.getByRole('link', { name: 'Continue with single sign-on', exact: true }).click(),
        ]);
        await signInAtIdp(page, 'bob', '/portal');
        await expectText(page.getByTestId('user-menu'), 'bob@acme.example');
      });
    });

    it('signing out ends the Patchbay session and the IdP session', { timeout: TEST_TIMEOUT_MS }, async () => {
      await withPage(browser, shot('sign-out'), async (page) => {
        await startWithEmail(page, 'alice@acme.example');
        await signInAtIdp(page, 'alice', '/console');

        // Patchbay sends the browser to the IdP's end-session endpoint (with id_token_hint and
        // post_logout_redirect_uri=<base>/login). oidc-provider asks for confirmation while its
        // session exists ("Yes, sign me out"); without one it auto-submits a form, which
        // needs a click on "Continue" when JavaScript is off.
        await Promise.all([
          page.waitForURL((url) => atPatchbay('/login')(url) || url.origin === server.idp.issuer),
          page.getByRole('button', { name: 'Sign out', exact: true }).click(),
        ]);
        if (new URL(page.url()).origin === server.idp.issuer) {
          const confirm = page
            .getByRole('button', { name: 'Yes, sign me out', exact: true })
            .or(page.getByRole('button', { name: 'Continue', exact: true }));
          await Promise.all([page.waitForURL(atPatchbay('/login')), confirm.first().click()]);
        }
        await waitForHydration(page);
        await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();

        await assertSignedOut(page);

        // The IdP forgot alice too: single sign-on asks for her login again.
        await visit(page, server.baseUrl, '/login/acme');
        await Promise.all([
          page.waitForURL(atIdpLogin),
          page.getByRole('link', { name: 'Continue with single sign-on', exact: true }).click(),
        ]);
        await page.locator('input[name="login"]').waitFor();
      });
    });

    it('an address without single sign-on must enter a password', { timeout: TEST_TIMEOUT_MS }, async () => {
      await withPage(browser, shot('eve-no-idp'), async (page) => {
        await visit(page, server.baseUrl, '/login');
        await page.getByLabel('Email', { exact: true }).fill('eve@evil.example');
        await page.getByRole('button', { name: 'Sign in', exact: true }).click();
        // The field's error (#f-password-error) or the form's alert mentions the password.
        await page
          .locator('#f-password-error, [role="alert"]')
          .filter({ hasText: /password/i })
          .first()
          .waitFor();
        const url = new URL(page.url());
        assert.equal(url.origin, server.baseUrl, 'eve is not sent to any identity provider');
        assert.equal(url.pathname, '/login');
        await assertSignedOut(page);
      });
    });

    it("an IdP account outside the tenant's domains is refused", { timeout: TEST_TIMEOUT_MS }, async () => {
      await withPage(browser, shot('eve-wrong-domain'), async (page) => {
        // Eve reaches acme's IdP through the tenant link, but her e-mail is eve@evil.example.
        await visit(page, server.baseUrl, '/login/acme');
        await Promise.all([
          page.waitForURL(atIdpLogin),
          page.getByRole('link', { name: 'Continue with single sign-on', exact: true }).click(),
        ]);
        await signInAtIdp(page, 'eve', '/login');
        // A fixed message for the code in the URL (the refused domain is in the audit trail).
        await expectText(page.getByRole('alert'), 'may not sign in to this organisation');
        await assertSignedOut(page);
      });
    });
  });
}
