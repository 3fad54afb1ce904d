// An accessibility floor: axe-core checks every page of the app, as each face's users see it,
// in the light and the dark theme (and, without JavaScript, the server-rendered light pages).
// Any serious or critical violation fails, with the rule, the elements and axe's summary.
//
// `before` builds a quote, orders it and sends an invitation first (beside the demo data's
// own orders): the detail pages, the tables' status badges and the invitation page are
// then checked with rows this run made.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { AxeBuilder } from '@axe-core/playwright';

import { buildQuote, placeOrder } from './flows.mjs';
import {
  eventually,
  inviteLink,
  launchBrowser,
  login,
  screenshot,
  startServer,
  visit,
  withPage,
} from './harness.mjs';

const TEST_TIMEOUT_MS = 600_000;
/** What fails the floor. axe's `minor` and `moderate` findings are printed, not failed. */
const FAILING = new Set(['serious', 'critical']);

const TENANT_ADMIN = 'tenant_admin@acme.example';
const PLATFORM_ADMIN = 'admin@patchbay.example';

/** Every route of `app/src/lib.rs`; `:params` are filled in from the data `before` makes. */
const SIGNED_OUT = ['/login', '/login/acme', '/login/no-such-tenant', ':invite', '/invite/not-a-real-token', '/no-such-page'];
const PORTAL = [
  '/portal',
  '/portal/locations',
  '/portal/quotes',
  '/portal/quotes/new',
  ':quote',
  '/portal/orders',
  ':order',
  '/portal/services',
  ':service',
  '/portal/team',
  '/portal/audit',
  '/portal/sso',
  '/portal/api-keys',
  '/portal/api',
  '/portal/webhooks',
  ':webhook',
  '/studio',
  '/account/sessions',
];
const CONSOLE = [
  '/console',
  '/console/interventions',
  '/console/jobs',
  '/console/providers',
  '/console/tenants',
  ':tenant',
  '/console/catalog',
  '/console/pricing',
  '/console/audit',
  '/account/sessions',
];

const MODES = [
  { jsOn: true, theme: 'light' },
  { jsOn: true, theme: 'dark' },
  // Before the app loads: the server-rendered page (light; the dark theme differs only in classes).
  { jsOn: false, theme: 'light' },
];

function describeViolation(v) {
  const nodes = v.nodes
    .slice(0, 8)
    .map((n) => {
      const summary = (n.failureSummary || '').replace(/\s+/g, ' ').trim();
      return `      ${n.target.join(' ')}\n        ${summary.slice(0, 300)}`;
    })
    .join('\n');
  const more = v.nodes.length > 8 ? `\n      … and ${v.nodes.length - 8} more` : '';
  return `  [${v.impact}] ${v.id} (${v.nodes.length}): ${v.help}\n${nodes}${more}`;
}

/** Run axe on the page as it is now; returns the failing violations (also logs the rest). */
async function audit(page, label) {
  const { violations } = await new AxeBuilder({ page }).analyze();
  const failing = violations.filter((v) => FAILING.has(v.impact));
  const minor = violations.filter((v) => !FAILING.has(v.impact));
  if (minor.length > 0) {
    console.log(`# ${label}: ${minor.map((v) => `${v.id} (${v.impact}, ${v.nodes.length})`).join(', ')}`);
  }
  return failing;
}

describe('accessibility (axe-core)', () => {
  let server;
  /** `:param` → a real path, filled in by `before`. */
  const params = {};

  before(async () => {
    server = await startServer();
    const setup = await launchBrowser({ javaScriptEnabled: true });
    try {
      await withPage(setup, 'a11y-setup-portal', async (page) => {
        await login(page, server.baseUrl, TENANT_ADMIN);
        await visit(page, server.baseUrl, '/portal/quotes/new');
        await buildQuote(page, true, { bandwidth: '1 Gbps', term: '12 months' });
        params[':quote'] = new URL(page.url()).pathname;
        await placeOrder(page, `PO-A11Y-${Date.now()}`);
        params[':order'] = new URL(page.url()).pathname;
        // The workers create the service shortly after the order is placed.
        params[':service'] = await eventually(
          async () => {
            await visit(page, server.baseUrl, '/portal/services');
            return page
              .locator('main a[href^="/portal/services/"]')
              .first()
              .getAttribute('href', { timeout: 1_000 });
          },
          { message: 'the ordered service did not appear in /portal/services' },
        );

        await visit(page, server.baseUrl, '/portal/team');
        await page.getByLabel('Email', { exact: true }).fill('a11y-invitee@acme.example');
        await page.getByRole('button', { name: 'Send invitation', exact: true }).click();
        await page.getByText('Invitation created').first().waitFor();

        // A webhook with one (failed) test delivery in its log.
        await visit(page, server.baseUrl, '/portal/webhooks');
        await page.getByLabel('Endpoint URL').fill('http://127.0.0.1:9/a11y');
        await page.locator('#event-all').check();
        await page.getByRole('button', { name: 'Add endpoint' }).click();
        await page.getByTestId('webhook-secret').waitFor();
        params[':webhook'] = await page.locator('main a[href^="/portal/webhooks/"]').first().getAttribute('href');
        await visit(page, server.baseUrl, params[':webhook']);
        await page.getByRole('button', { name: 'Send test event' }).click();
        await page.getByText('was not accepted').first().waitFor();
      });
      const mail = await server.waitForMail((m) => m.to.includes('a11y-invitee@acme.example'));
      params[':invite'] = new URL(inviteLink(mail)).pathname;

      await withPage(setup, 'a11y-setup-console', async (page) => {
        await login(page, server.baseUrl, PLATFORM_ADMIN);
        await visit(page, server.baseUrl, '/console/tenants');
        params[':tenant'] = await page.locator('main a[href^="/console/tenants/"]').first().getAttribute('href');
      });
    } finally {
      await setup.close();
    }
  });

  after(async () => {
    await server?.stop();
  });

  for (const { jsOn, theme } of MODES) {
    const mode = `${theme} theme, JavaScript ${jsOn ? 'on' : 'off'}`;
    const tag = `${theme}-${jsOn ? 'js' : 'nojs'}`;

    describe(mode, () => {
      let browser;
      before(async () => {
        // "JavaScript off" is the server-rendered page without the app's JavaScript; axe
        // itself is a script, so the browser keeps running scripts (only the app's are refused).
        browser = await launchBrowser({ javaScriptEnabled: true, withoutApp: !jsOn, theme });
      });
      after(async () => {
        await browser?.close();
      });

      const groups = [
        { name: 'signed out', who: null, paths: SIGNED_OUT },
        { name: `the portal as ${TENANT_ADMIN}`, who: TENANT_ADMIN, paths: PORTAL },
        { name: `the console as ${PLATFORM_ADMIN}`, who: PLATFORM_ADMIN, paths: CONSOLE },
      ];
      for (const group of groups) {
        it(`${group.name}: no serious or critical violations`, { timeout: TEST_TIMEOUT_MS }, async () => {
          const report = [];
          let checked = 0;
          await withPage(browser, `a11y-${tag}-${group.who ?? 'anonymous'}`, async (page) => {
            if (group.who) await login(page, server.baseUrl, group.who);
            for (const route of group.paths) {
              const path = params[route] ?? route;
              assert.ok(!path.startsWith(':'), `no ${route} was made in the set-up`);
              await visit(page, server.baseUrl, path);
              if (jsOn) {
                const dark = await page.evaluate(() => document.documentElement.classList.contains('dark'));
                assert.equal(dark, theme === 'dark', `${path} is in the ${theme} theme`);
              }
              const failing = await audit(page, `${mode} ${path}`);
              checked += 1;
              if (failing.length > 0) {
                const count = failing.reduce((n, v) => n + v.nodes.length, 0);
                report.push(`${path}: ${count} element(s)\n${failing.map(describeViolation).join('\n')}`);
              }
              // To look at the pages: every one is saved to end2end/.artifacts/.
              if (process.env.PATCHBAY_E2E_SHOTS) await screenshot(page, `a11y-${tag}${path}`);
            }
          });
          assert.equal(checked, group.paths.length);
          assert.equal(report.length, 0, `axe found serious or critical violations (${mode}):\n${report.join('\n\n')}`);
        });
      }
    });
  }
});
