// The foundation in a real browser: sign-in per role, the navigation each role gets,
// tenant creation with an e-mailed invitation that a new user accepts, and sign-out.
// Everything runs twice: with JavaScript (hydrated app) and without (plain HTML forms).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  atPath,
  expectText,
  inviteLink,
  launchBrowser,
  login,
  startServer,
  visit,
  waitForHydration,
  withPage,
} from './harness.mjs';

const TEST_TIMEOUT_MS = 180_000;
const ACME = 'Acme Networks';

/** Who signs in, where they land, which sidebar links they must and must not see. */
const ROLES = [
  {
    email: 'admin@patchbay.example',
    home: '/console',
    nav: ['Overview', 'Tenants', 'Audit log'],
    hidden: [],
    faces: ['Console'],
    tenant: null,
  },
  { email: 'tenant_admin@acme.example', home: '/portal', nav: ['Overview', 'Team', 'Audit log', 'API keys', 'Webhooks'], hidden: [] },
  { email: 'auditor@acme.example', home: '/portal', nav: ['Overview', 'Team', 'Audit log'], hidden: [] },
  { email: 'support@acme.example', home: '/portal', nav: ['Overview', 'Team'], hidden: ['Audit log'] },
  { email: 'member@acme.example', home: '/portal', nav: ['Overview'], hidden: ['Team', 'Audit log', 'API keys', 'Webhooks'] },
  { email: 'billing_admin@acme.example', home: '/portal', nav: ['Overview'], hidden: ['Team', 'Audit log'] },
  { email: 'operator@acme.example', home: '/console', nav: ['Overview'], hidden: ['Tenants'] },
];

function uniqueSuffix() {
  return `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

for (const javaScriptEnabled of [true, false]) {
  const mode = javaScriptEnabled ? 'JavaScript on' : 'JavaScript off';

  describe(`foundation (${mode})`, () => {
    let server;
    let browser;

    before(async () => {
      server = await startServer();
      browser = await launchBrowser({ javaScriptEnabled });
    });

    after(async () => {
      await browser?.close();
      await server?.stop();
    });

    const shot = (name) => `${javaScriptEnabled ? 'js' : 'nojs'}-${name}`;

    for (const role of ROLES) {
      it(`${role.email} signs in and sees the right navigation`, { timeout: TEST_TIMEOUT_MS }, async () => {
        await withPage(browser, shot(`nav-${role.email}`), async (page) => {
          await login(page, server.baseUrl, role.email);
          await page.waitForURL(atPath(role.home));

          const nav = page.getByRole('navigation', { name: 'Main' });
          await nav.waitFor();
          for (const name of role.nav) {
            await nav.getByRole('link', { name, exact: true }).waitFor();
          }
          for (const name of role.hidden) {
            assert.equal(
              await nav.getByRole('link', { name, exact: true }).count(),
              0,
              `${role.email} must not see "${name}" in the sidebar`,
            );
          }
          for (const name of role.faces ?? []) {
            await page.getByRole('navigation', { name: 'Faces' }).getByRole('link', { name, exact: true }).waitFor();
          }

          await expectText(page.getByTestId('user-menu'), role.email);
          const tenant = role.tenant === undefined ? ACME : role.tenant;
          if (tenant) await expectText(page.getByTestId('current-tenant'), tenant);
        });
      });
    }

    it('a tenant admin creates an API key, sees it once, uses it and revokes it', { timeout: TEST_TIMEOUT_MS }, async () => {
      const name = `CI ${uniqueSuffix()}`;
      let token;
      await withPage(browser, shot('api-key'), async (page) => {
        await login(page, server.baseUrl, 'tenant_admin@acme.example');
        await visit(page, server.baseUrl, '/portal/api-keys');
        await page.getByLabel('Name', { exact: true }).fill(name);
        await page.getByLabel('services:read').check();
        await page.getByLabel('Expires after', { exact: true }).selectOption({ label: '30 days' });
        await page.getByRole('button', { name: 'Create key', exact: true }).click();
        // With JavaScript the new key appears in place; without, the page reloads with it.
        const shown = javaScriptEnabled ? page.getByTestId('new-api-key') : page.getByText(/it is not shown again: pbk_/);
        await shown.waitFor();
        token = (await shown.innerText()).match(/pbk_[a-z0-9]+_[a-z0-9]+/)?.[0];
        assert.ok(token, 'the token is on the page once');
        const row = page.locator('tr', { hasText: name });
        await expectText(row, 'services:read');
        await expectText(row, 'active');

        const call = () => fetch(`${server.baseUrl}/v1/services`, { headers: { authorization: `Bearer ${token}` } });
        const ok = await call();
        assert.equal(ok.status, 200, 'the key reads the services');
        assert.ok(Array.isArray((await ok.json()).items));

        // After a reload the token is gone from the page for good.
        await visit(page, server.baseUrl, '/portal/api-keys');
        assert.equal(await page.getByText(token).count(), 0, 'the token is not shown again');
        await page.locator('tr', { hasText: name }).getByRole('button', { name: 'Revoke', exact: true }).click();
        await expectText(page.locator('tr', { hasText: name }), 'revoked');
        const refused = await call();
        assert.equal(refused.status, 401, 'a revoked key is refused');
        assert.equal(refused.headers.get('content-type'), 'application/problem+json');
      });
    });

    it('a wrong password is refused with a clear message', { timeout: TEST_TIMEOUT_MS }, async () => {
      await withPage(browser, shot('wrong-password'), async (page) => {
        await visit(page, server.baseUrl, '/login');
        await page.getByLabel('Email', { exact: true }).fill('tenant_admin@acme.example');
        await page.getByLabel('Password', { exact: true }).fill('not-the-password-123');
        await page.getByRole('button', { name: 'Sign in', exact: true }).click();
        await page.getByText('The e-mail address or password is incorrect.').first().waitFor();
        assert.equal(new URL(page.url()).pathname, '/login');
      });
    });

    it('a platform admin creates a tenant and invites its first admin', { timeout: TEST_TIMEOUT_MS }, async () => {
      const suffix = uniqueSuffix();
      const tenantName = `Initech ${suffix}`;
      const slug = `initech-${suffix}`;
      const invitee = `new-${suffix}@initech.example`;

      await withPage(browser, shot('create-tenant'), async (page) => {
        await login(page, server.baseUrl, 'admin@patchbay.example');
        await visit(page, server.baseUrl, '/console/tenants');
        await page.getByLabel('Name', { exact: true }).fill(tenantName);
        await page.getByLabel('Slug', { exact: true }).fill(slug);
        await page.getByLabel('Edition', { exact: true }).selectOption({ label: 'Standard' });
        await Promise.all([
          page.waitForURL(/\/console\/tenants\/[^/?#]+(?:[?#].*)?$/),
          page.getByRole('button', { name: 'Create tenant', exact: true }).click(),
        ]);
        await waitForHydration(page);
        await page.getByRole('heading', { level: 1, name: tenantName }).waitFor();

        await page.getByLabel('Email', { exact: true }).fill(invitee);
        await page.getByLabel('Role', { exact: true }).selectOption({ label: 'Tenant admin' });
        await page.getByRole('button', { name: 'Send invitation', exact: true }).click();
        await page.getByText('Invitation created').first().waitFor();
      });

      const mail = await server.waitForMail((m) => m.to.includes(invitee));
      const link = inviteLink(mail);
      assert.ok(link, `the invitation e-mail has an /invite/ link:\n${mail.text}`);
      assert.ok(link.startsWith(`${server.baseUrl}/invite/`), `the link uses the public URL: ${link}`);

      await withPage(browser, shot('accept-invitation'), async (page) => {
        await visit(page, server.baseUrl, link);
        await page.getByRole('button', { name: 'Accept invitation', exact: true }).waitFor();
        await page.getByLabel('Your name', { exact: true }).fill('Nina Newcomer');
        await page.getByLabel('Password', { exact: true }).fill('correct-horse-battery-42');
        await page.getByLabel('Confirm password', { exact: true }).fill('correct-horse-battery-42');
        await Promise.all([
          page.waitForURL(atPath('/portal')),
          page.getByRole('button', { name: 'Accept invitation', exact: true }).click(),
        ]);
        await waitForHydration(page);
        await expectText(page.getByTestId('current-tenant'), tenantName);
        await expectText(page.getByTestId('user-menu'), invitee);
      });
    });

    it('signing out returns to the sign-in page and ends the session', { timeout: TEST_TIMEOUT_MS }, async () => {
      await withPage(browser, shot('sign-out'), async (page) => {
        await login(page, server.baseUrl, 'member@acme.example');
        await page.waitForURL(atPath('/portal'));
        await Promise.all([
          page.waitForURL(atPath('/login')),
          page.getByRole('button', { name: 'Sign out', exact: true }).click(),
        ]);
        await visit(page, server.baseUrl, '/portal');
        await page.waitForURL(atPath('/login'));
        await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
      });
    });
  });
}
