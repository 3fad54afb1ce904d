// Provisioning in a real browser: an AWS Direct Connect order waits for the customer to
// accept the hosted connection, the portal names the connection, the sandbox step accepts
// it and the order becomes active; then the service's bandwidth changes and it is
// terminated. With JavaScript the order page follows the live event stream without a
// reload; without JavaScript the same pages work by reloading and posting plain forms.
import { after, before, describe, it } from 'node:test';

import { buildQuote, placeOrder } from './flows.mjs';
import { eventually, expectText, launchBrowser, login, startServer, visit, withPage } from './harness.mjs';

const TEST_TIMEOUT_MS = 180_000;

/** Without JavaScript nothing updates by itself: reload until the text shows. */
async function expectAfterReload(page, locator, text) {
  await eventually(
    async () => {
      await page.reload();
      const seen = await locator.first().innerText({ timeout: 1_000 }).catch(() => '');
      return seen.replace(/\s+/g, ' ').includes(text);
    },
    { message: `expected "${text}" after reloading` },
  );
}

for (const jsOn of [true, false]) {
  const mode = jsOn ? 'JavaScript on' : 'JavaScript off';

  describe(`provisioning (${mode})`, () => {
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

    it('an AWS hosted connection is accepted by the customer and the service is managed', { timeout: TEST_TIMEOUT_MS }, async () => {
      await withPage(browser, `${mode}-provisioning`, async (page) => {
        await login(page, server.baseUrl, 'billing_admin@acme.example');
        await visit(page, server.baseUrl, '/portal/quotes/new');
        await buildQuote(page, jsOn, { bandwidth: '1 Gbps', term: '12 months' });
        await placeOrder(page, `PO-PROV-${Date.now()}`);

        // The workers order the connection; AWS then waits for the customer's acceptance.
        const step = page.getByTestId('customer-step');
        if (jsOn) {
          await expectText(step, 'Accept hosted connection dxcon-');
        } else {
          await expectAfterReload(page, step, 'Accept hosted connection dxcon-');
        }
        await expectText(page.getByTestId('order-status'), 'provisioning');
        await page.getByRole('button', { name: 'Do this step now (sandbox)' }).click();
        if (jsOn) {
          await expectText(page.getByTestId('order-status'), 'active');
        } else {
          await expectAfterReload(page, page.getByTestId('order-status'), 'active');
        }
        await expectText(page.getByTestId('legs'), 'AWS connection id');

        // The service: references, then a bandwidth change that runs as a job.
        await Promise.all([
          page.waitForURL(/\/portal\/services\/[0-9a-f-]{36}$/),
          page.getByTestId('provisioning').getByRole('link', { name: /SV-/ }).click(),
        ]);
        await expectText(page.getByTestId('service-status'), 'active');
        await expectText(page.getByTestId('legs'), 'Amazon-side ASN');
        await page.getByLabel('New bandwidth').selectOption({ label: '2 Gbps' });
        await page.getByRole('button', { name: 'Change bandwidth' }).click();
        if (jsOn) {
          await expectText(page.getByTestId('service-bandwidth'), '2 Gbps');
        } else {
          await expectAfterReload(page, page.getByTestId('service-bandwidth'), '2 Gbps');
        }
        await expectText(page.getByTestId('service-timeline'), 'Bandwidth changed from 1000 to 2000 Mbps');

        // Termination asks for the service number first.
        const number = (await page.locator('h1').innerText()).replace('Service ', '').trim();
        await page.getByRole('button', { name: 'Terminate service' }).click();
        await expectText(page.locator('main'), `Type ${number} to confirm termination.`);
        await page.getByLabel(`Type ${number} to terminate`).fill(number);
        await page.getByRole('button', { name: 'Terminate service' }).click();
        if (jsOn) {
          await expectText(page.getByTestId('service-status'), 'terminated');
        } else {
          await expectAfterReload(page, page.getByTestId('service-status'), 'terminated');
        }
        await visit(page, server.baseUrl, '/portal/services?status=terminated');
        await expectText(page.locator('table'), number);
      });
    });

    it('platform staff see the jobs and tune a provider', { timeout: TEST_TIMEOUT_MS }, async () => {
      await withPage(browser, `${mode}-console-jobs`, async (page) => {
        await login(page, server.baseUrl, 'admin@patchbay.example');
        await visit(page, server.baseUrl, '/console/jobs?status=succeeded');
        await expectText(page.locator('table'), 'provision order');
        await visit(page, server.baseUrl, '/console/interventions');
        await expectText(page.locator('main'), 'Nothing waiting');
      });
      await withPage(browser, `${mode}-console-providers`, async (page) => {
        await login(page, server.baseUrl, 'admin@patchbay.example');
        await visit(page, server.baseUrl, '/console/providers');
        const form = () => page.locator('form[data-provider="Equinix"]');
        // The browser checks each field's range; the server checks what only it can.
        await form().getByLabel('Transient errors (%)').fill('60');
        await form().getByLabel('Permanent rejections (%)').fill('50');
        await form().getByRole('button', { name: 'Save' }).click();
        await expectText(page.locator('main'), 'cannot exceed 100%');
        await form().getByLabel('Latency (ms)').fill('250');
        await form().getByLabel('Transient errors (%)').fill('5');
        await form().getByLabel('Permanent rejections (%)').fill('0');
        await form().getByRole('button', { name: 'Save' }).click();
        await expectText(page.locator('form[data-provider="Equinix"]'), 'admin@patchbay.example');
      });
    });
  });
}
