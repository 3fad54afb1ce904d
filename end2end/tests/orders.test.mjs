// Quote and order in a real browser: build a quote in the quote builder, save it, place an
// order from it and see its timeline; then a big order waits for a second person's approval.
// Everything runs twice: with JavaScript (hydrated app) and without (plain HTML forms).
import { after, before, describe, it } from 'node:test';

import { buildQuote, placeOrder } from './flows.mjs';
import { expectText, launchBrowser, login, startServer, visit, withPage } from './harness.mjs';

const TEST_TIMEOUT_MS = 180_000;

for (const jsOn of [true, false]) {
  const mode = jsOn ? 'JavaScript on' : 'JavaScript off';

  describe(`quotes and orders (${mode})`, () => {
    let server;
    let browser;

    before(async () => {
      server = await startServer();
      browser = await launchBrowser({ javaScriptEnabled: jsOn });
    });

    after(async () => {
      await browser?.close();
      await server?.stop();
    });

    it('a billing admin builds a quote and orders it; small orders are approved at once', { timeout: TEST_TIMEOUT_MS }, async () => {
      await withPage(browser, `${mode}-order-small`, async (page) => {
        await login(page, server.baseUrl, 'billing_admin@acme.example');
        await visit(page, server.baseUrl, '/portal/quotes/new');
        await buildQuote(page, jsOn, { bandwidth: '1 Gbps', term: '12 months' });
        await placeOrder(page, `PO-${Date.now()}`);
        // Provisioning workers pick the order up at once: its history shows it was queued.
        await expectText(page.getByTestId('order-timeline'), 'approved → queued');
        await expectText(page.getByTestId('order-timeline'), 'quoted → approved');
        await visit(page, server.baseUrl, '/portal/orders');
        await expectText(page.locator('table'), 'Production VPC to London');
      });
    });

    it('a big order waits for a second person, who approves it', { timeout: TEST_TIMEOUT_MS }, async () => {
      let orderUrl;
      await withPage(browser, `${mode}-order-big`, async (page) => {
        await login(page, server.baseUrl, 'billing_admin@acme.example');
        await visit(page, server.baseUrl, '/portal/quotes/new');
        await buildQuote(page, jsOn, { bandwidth: '10 Gbps', term: '36 months' });
        await placeOrder(page, `PO-BIG-${Date.now()}`);
        await expectText(page.getByTestId('order-status'), 'awaiting approval');
        await expectText(page.locator('main'), 'you placed this order');
        orderUrl = page.url();
      });
      await withPage(browser, `${mode}-order-approve`, async (page) => {
        await login(page, server.baseUrl, 'tenant_admin@acme.example');
        await visit(page, server.baseUrl, orderUrl);
        await page.getByRole('button', { name: 'Approve order' }).click();
        await expectText(page.getByTestId('order-timeline'), 'approved → queued');
        await expectText(page.getByTestId('order-timeline'), 'tenant_admin@acme.example');
      });
    });
  });
}
