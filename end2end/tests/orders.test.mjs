// Quote and order in a real browser: build a quote in the quote builder, save it, place an
// order from it and see its timeline; then a big order waits for a second person's approval.
// Everything runs twice: with JavaScript (hydrated app) and without (plain HTML forms).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { expectText, launchBrowser, login, startServer, visit, waitForHydration, withPage } from './harness.mjs';

const TEST_TIMEOUT_MS = 180_000;

/** The value of the first option of `select` whose text contains every one of `parts`. */
async function optionValue(page, selectId, parts) {
  const value = await page.evaluate(
    ([id, wanted]) => {
      const select = document.getElementById(id);
      const option = [...select.options].find((o) => wanted.every((w) => o.textContent.includes(w)));
      return option ? option.value : null;
    },
    [selectId, parts],
  );
  assert.ok(value, `no option in #${selectId} containing ${parts.join(' + ')}`);
  return value;
}

/**
 * Pick an option in the quote builder. With JavaScript the form re-prices on change (a GET
 * navigation); without it nothing happens until "Check price". Either way, wait until done.
 */
async function choose(page, jsOn, selectId, parts) {
  const value = await optionValue(page, selectId, parts);
  if (jsOn) {
    await Promise.all([
      page.waitForURL((url) => url.searchParams.get(selectId) === value),
      page.locator(`#${selectId}`).selectOption(value),
    ]);
    await waitForHydration(page);
  } else {
    await page.locator(`#${selectId}`).selectOption(value);
  }
}

async function buildQuote(page, jsOn, { bandwidth, term }) {
  await choose(page, jsOn, 'offering_id', ['Cloud Connect']);
  await choose(page, jsOn, 'a_endpoint_id', ['London', 'Data-centre port', 'Equinix']);
  await choose(page, jsOn, 'b_endpoint_id', ['London', 'AWS Direct Connect']);
  if (!jsOn) {
    // Without JavaScript the bandwidth list fills in once the product is submitted.
    await Promise.all([page.waitForURL(/offering_id=/), page.getByRole('button', { name: 'Check price' }).click()]);
  }
  await choose(page, jsOn, 'bandwidth_mbps', [bandwidth]);
  await choose(page, jsOn, 'term_months', [term]);
  await Promise.all([page.waitForURL(/bandwidth_mbps=/), page.getByRole('button', { name: 'Check price' }).click()]);
  await waitForHydration(page);
  await expectText(page.getByText('serviceable', { exact: true }), 'serviceable');
  await expectText(page.getByTestId('quote-total'), '€');
  await Promise.all([
    page.waitForURL(/\/portal\/quotes\/[0-9a-f-]{36}$/),
    page.getByRole('button', { name: 'Save quote' }).click(),
  ]);
  await waitForHydration(page);
  await expectText(page.locator('h1'), 'Quote Q-');
}

async function placeOrder(page, po) {
  await page.getByLabel('Purchase-order number').fill(po);
  await page.getByLabel('Cost centre').fill('NET-7');
  await page.getByLabel('Description').fill('Production VPC to London');
  await Promise.all([
    page.waitForURL(/\/portal\/orders\/[0-9a-f-]{36}$/),
    page.getByRole('button', { name: 'Place order' }).click(),
  ]);
  await waitForHydration(page);
  await expectText(page.locator('h1'), 'Order PB-');
}

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
        await expectText(page.getByTestId('order-status'), 'queued');
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
        await expectText(page.getByTestId('order-status'), 'queued');
        await expectText(page.getByTestId('order-timeline'), 'tenant_admin@acme.example');
      });
    });
  });
}
