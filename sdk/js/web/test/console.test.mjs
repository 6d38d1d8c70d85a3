// The operator console in a real Chromium against a real livepushd --dev: a wrong key is
// refused, the right one opens it and stays for the tab (a reload needs no key), the overview
// shows a user's WebSocket session and room, the user lookup shows online, node, rooms and
// inbox, a kick reaches the user's page, and every live chart draws a canvas with points
// scraped from /metrics. A screenshot goes to the artifacts dir.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { DEV_API_KEY, launchBrowser, openPage, screenshot, startNode } from './harness.mjs';

const ROOM = 9;
const USER = 202;
let node, browser, demo, consolePage;
const errors = [];

before(async () => {
  node = await startNode();
  browser = await launchBrowser();
  demo = await openPage(browser, node.demoUrl(`role=viewer&user=${USER}&room=${ROOM}`), errors);
  await demo.waitForSelector('body[data-ready="true"]', { timeout: 15000 });
  consolePage = await openPage(browser, node.consoleUrl('interval=300'), errors);
});

after(async () => {
  try {
    if (consolePage) await screenshot(consolePage, 'console');
  } finally {
    await browser?.close();
    await node?.stop();
  }
  assert.deepEqual(errors, [], 'the pages logged errors');
});

const waitText = (page, sel, want, timeout = 10000) =>
  page.waitForFunction(
    ([s, w]) => (document.querySelector(s)?.textContent ?? '').includes(w),
    [sel, want],
    { timeout },
  );

test('a wrong key is refused; the right one opens the console and is kept for the tab', async () => {
  await consolePage.fill('#api-key', 'not-the-key');
  await consolePage.click('#login-button');
  await waitText(consolePage, '#login-error', 'wrong API key');
  assert.equal(await consolePage.locator('#main').isHidden(), true);

  await consolePage.fill('#api-key', DEV_API_KEY);
  await consolePage.click('#login-button');
  await consolePage.waitForSelector('body[data-ready="true"]', { timeout: 10000 });
  await consolePage.reload();
  await consolePage.waitForSelector('body[data-ready="true"]', { timeout: 10000 });
  assert.equal(await consolePage.locator('#login').isHidden(), true, 'the key was kept');
});

test('the overview shows the nodes, sessions by transport and the top rooms', async () => {
  await waitText(consolePage, '#nodes tbody', '127.0.0.1:');
  await consolePage.waitForFunction(() => {
    const row = [...document.querySelectorAll('#sessions tbody tr')].find((r) => r.cells[0].textContent === 'ws');
    return row && Number(row.cells[1].textContent) >= 1;
  }, null, { timeout: 10000 });
  await waitText(consolePage, '#top-rooms tbody', String(ROOM));
});

test('a user lookup shows online, node, rooms and inbox; a kick reaches the user', async () => {
  await consolePage.fill('#user-id', String(USER));
  await consolePage.click('#lookup-button');
  await waitText(consolePage, '#user-online', 'yes');
  assert.equal(await consolePage.locator('#user-rooms').innerText(), String(ROOM));
  assert.equal(await consolePage.locator('#user-inbox').innerText(), '0');
  assert.notEqual(await consolePage.locator('#user-node').innerText(), '-');
  assert.match(await consolePage.locator('#user-sessions').innerText(), /web ws/);

  await consolePage.click('#kick');
  await waitText(consolePage, '#action-result', '"kicked":1');
  await waitText(demo, '#chat-log', 'kicked: admin');
});

test('every live chart draws a canvas with points from /metrics', async () => {
  const charts = consolePage.locator('[data-testid="chart"]');
  assert.equal(await charts.count(), 5);
  await consolePage.waitForFunction(
    () => [...document.querySelectorAll('[data-testid="chart"]')].every((c) => Number(c.dataset.points) >= 3),
    null,
    { timeout: 15000 },
  );
  for (let i = 0; i < 5; ++i) {
    const chart = charts.nth(i);
    assert.equal(await chart.locator('canvas').count(), 1, await chart.getAttribute('data-title'));
    const box = await chart.locator('canvas').boundingBox();
    assert.ok(box && box.width > 100 && box.height > 50);
  }
  const titles = await charts.evaluateAll((cs) => cs.map((c) => c.dataset.title));
  assert.deepEqual(titles, ['Deliveries/s', 'Logins/s', 'Send-queue bytes', 'Slow-consumer kicks (per scrape)', 'API p99 (ms)']);
});
