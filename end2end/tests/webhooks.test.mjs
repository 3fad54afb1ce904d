// Portal → Webhooks in a real browser: a tenant admin adds an endpoint (the signing secret
// is shown once), sends a test event, sees it in the delivery log, and replays it; the local
// receiver checks every request with the `standardwebhooks` package.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';

import { Webhook } from 'standardwebhooks';

import { eventually, expectText, launchBrowser, login, startServer, visit, withPage } from './harness.mjs';

const TEST_TIMEOUT_MS = 180_000;

function startReceiver() {
  const got = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('received');
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({ url: `http://127.0.0.1:${server.address().port}/hooks/patchbay`, got, close: () => server.close() });
    });
  });
}

describe('webhooks (JavaScript on)', () => {
  let server;
  let browser;
  let receiver;

  before(async () => {
    [server, receiver] = await Promise.all([startServer(), startReceiver()]);
    browser = await launchBrowser({ javaScriptEnabled: true });
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    receiver?.close();
  });

  it('a tenant admin adds an endpoint, sends a test event, sees it delivered and replays it', { timeout: TEST_TIMEOUT_MS }, async () => {
    await withPage(browser, 'webhooks', async (page) => {
      await login(page, server.baseUrl, 'tenant_admin@acme.example');
      await page.getByRole('link', { name: 'Webhooks', exact: true }).click();
      await page.getByRole('heading', { name: 'Webhooks', exact: true }).waitFor();

      // A bad URL is refused next to the field, and nothing is made.
      await page.getByLabel('Endpoint URL').fill('ftp://files.example.com/');
      await page.locator('#event-order-all').check();
      await page.getByRole('button', { name: 'Add endpoint' }).click();
      await expectText(page.locator('main'), 'not ftp://');
      await expectText(page.locator('main'), 'No webhooks yet');

      await page.getByLabel('Endpoint URL').fill(receiver.url);
      await page.getByLabel('Description (optional)').fill('Ticketing bridge');
      await page.locator('#event-webhook-test').check();
      await page.getByRole('button', { name: 'Add endpoint' }).click();
      const secret = (await page.getByTestId('webhook-secret').textContent()).trim();
      assert.match(secret, /^whsec_/);
      await page.getByRole('link', { name: receiver.url }).click();
      await page.getByRole('heading', { name: receiver.url }).waitFor();

      await page.getByRole('button', { name: 'Send test event' }).click();
      await expectText(page.locator('main'), 'delivered (HTTP 200)');
      assert.equal(receiver.got.length, 1);
      const first = receiver.got[0];
      const payload = new Webhook(secret).verify(first.body, first.headers);
      assert.equal(payload.type, 'webhook.test');
      assert.equal(first.headers['patchbay-event-type'], 'webhook.test');

      // The log shows the message, its attempt and the receiver's answer.
      const row = page.locator('main tbody tr', { hasText: first.headers['webhook-id'] });
      await expectText(row, 'delivered');
      await row.getByText('Payload and attempts').click();
      await expectText(row, 'HTTP 200');
      await expectText(row, 'received');

      // Replay: the same message again (same webhook-id), delivered by the job queue.
      await row.getByRole('button', { name: 'Replay' }).click();
      await eventually(async () => receiver.got.length >= 2, { message: 'the replay did not arrive' });
      const second = receiver.got[1];
      assert.equal(second.headers['webhook-id'], first.headers['webhook-id']);
      assert.equal(second.headers['patchbay-attempt'], '2');
      new Webhook(secret).verify(second.body, second.headers);
      await eventually(
        async () => {
          await page.reload();
          const text = await page.locator('main tbody tr', { hasText: first.headers['webhook-id'] }).innerText();
          return /delivered/.test(text) && /\b2\b/.test(text);
        },
        { message: 'the log did not show the second attempt' },
      );
    });
  });
});
