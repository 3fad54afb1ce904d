// Shared browser flows: building a quote in the quote builder and ordering it.
import assert from 'node:assert/strict';

import { expectText, waitForHydration } from './harness.mjs';

/** The value of the first option of `select` whose text contains every one of `parts`. */
export async function optionValue(page, selectId, parts) {
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
export async function choose(page, jsOn, selectId, parts) {
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

export async function buildQuote(page, jsOn, { bandwidth, term }) {
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
  // The price card says the connection can be delivered, and nothing says it cannot.
  await page.getByText('serviceable', { exact: true }).waitFor();
  assert.equal(await page.getByText('This connection cannot be offered').count(), 0, 'quote is not serviceable');
  await expectText(page.getByTestId('quote-total'), '€');
  await Promise.all([
    page.waitForURL(/\/portal\/quotes\/[0-9a-f-]{36}$/),
    page.getByRole('button', { name: 'Save quote' }).click(),
  ]);
  await waitForHydration(page);
  await expectText(page.locator('h1'), 'Quote Q-');
}

export async function placeOrder(page, po) {
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
