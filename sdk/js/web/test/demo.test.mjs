// The live-room demo in a real Chromium against a real livepushd --dev: a viewer and an anchor
// on the same room, each in its own browser context, checked through the DOM: chat both ways
// (with the sender's name, level and medal), likes adding up on both pages, a gift's effect,
// the PK bar moving with room state key "pk", the online count, and a viewer muted from the
// anchor's moderation panel seeing the refusal in place. Screenshots go to the artifacts dir.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchBrowser, openPage, screenshot, startNode } from './harness.mjs';

const ROOM = 7;
let node, browser, viewer, anchor;
const errors = [];

before(async () => {
  node = await startNode();
  browser = await launchBrowser();
  viewer = await openPage(browser, node.demoUrl(`role=viewer&user=101&room=${ROOM}`), errors);
  anchor = await openPage(browser, node.demoUrl(`role=anchor&user=1&room=${ROOM}`), errors);
  for (const page of [viewer, anchor]) await page.waitForSelector('body[data-ready="true"]', { timeout: 15000 });
});

after(async () => {
  try {
    if (viewer) await screenshot(viewer, 'demo-viewer');
    if (anchor) await screenshot(anchor, 'demo-anchor');
  } finally {
    await browser?.close();
    await node?.stop();
  }
  assert.deepEqual(errors, [], 'the pages logged errors');
});

const text = (page, sel) => page.locator(sel).innerText();
const waitText = (page, sel, want, timeout = 10000) =>
  page.waitForFunction(
    ([s, w]) => (document.querySelector(s)?.textContent ?? '').includes(w),
    [sel, want],
    { timeout },
  );

test('both pages show the online count of the room', async () => {
  await waitText(viewer, '#online-count', '2');
  await waitText(anchor, '#online-count', '2');
  assert.equal(await text(viewer, '#conn-state'), 'connected');
});

test('chat goes both ways, with name, level and medal, as danmaku and in the log', async () => {
  await viewer.fill('#chat-input', 'hello from the viewer');
  await viewer.click('#chat-send');
  await waitText(anchor, '#chat-log', 'hello from the viewer');
  const line = anchor.locator('[data-testid="chat-line"]', { hasText: 'hello from the viewer' });
  const shown = await line.innerText();
  assert.match(shown, /Viewer 101/);
  assert.match(shown, /Lv\d+/);
  assert.match(shown, /Fans/);
  await anchor.waitForSelector('[data-testid="danmaku"]:has-text("hello from the viewer")', { timeout: 5000 });

  await anchor.fill('#chat-input', 'hi from the anchor');
  await anchor.click('#chat-send');
  await waitText(viewer, '#chat-log', 'hi from the anchor');
  assert.match(await viewer.locator('[data-testid="chat-line"]', { hasText: 'hi from the anchor' }).innerText(), /Anchor 1/);
});

test('likes from both pages add up on both pages', async () => {
  for (let i = 0; i < 3; ++i) await viewer.click('#like');
  for (let i = 0; i < 2; ++i) await anchor.click('#like');
  await waitText(viewer, '#like-count', '5');
  await waitText(anchor, '#like-count', '5');
});

test('a gift shows its effect on the other page', async () => {
  await viewer.click('[data-testid="gift-3"]');
  await anchor.waitForSelector('#gift-effect:not([hidden]):has-text("Rocket")', { timeout: 10000 });
  assert.match(await anchor.locator('#gift-effect').getAttribute('class'), /banner/);
  await waitText(anchor, '#chat-log', 'sent Rocket x1');
});

test('the PK bar follows room state key "pk"', async () => {
  const pk = (left, right) => ({ pk_id: '1', state: 1, scores: { 1: left, 2: right }, anchors: ['1', '2'], winner: null });
  await node.api('PUT', `/v1/rooms/${ROOM}/state/pk`, pk(10, 30));
  await viewer.waitForSelector('#pk:not([hidden])', { timeout: 10000 });
  await waitText(viewer, '#pk-left-score', '10');
  assert.equal(await viewer.locator('#pk-left').getAttribute('data-share'), '25.0');
  await node.api('PUT', `/v1/rooms/${ROOM}/state/pk`, pk(50, 30));
  await waitText(viewer, '#pk-left-score', '50');
  await waitText(anchor, '#pk-left-score', '50');
  assert.equal(await viewer.locator('#pk-left').getAttribute('data-share'), '62.5');
  assert.equal(await text(viewer, '#pk-phase'), 'scoring');
});

test('a viewer muted from the anchor panel sees the refusal in place', async () => {
  assert.equal(await viewer.locator('#mod-panel').isHidden(), true, 'a viewer has no moderation panel');
  await anchor.fill('#mod-user', '101');
  await anchor.click('[data-testid="mod-mute"]');
  await waitText(anchor, '#mod-result', 'room.mute ok');
  await waitText(viewer, '#chat-log', 'mute user 101');
  await viewer.fill('#chat-input', 'can you hear me');
  await viewer.click('#chat-send');
  await viewer.waitForSelector('#chat-refusal:not([hidden])', { timeout: 5000 });
  assert.match(await text(viewer, '#chat-refusal'), /ROOM_MUTED/);
  assert.equal(await viewer.locator('#chat-refusal').getAttribute('data-code'), '3012');
  assert.equal(await viewer.inputValue('#chat-input'), 'can you hear me', 'the text is kept');
  assert.equal(await anchor.locator('[data-testid="chat-line"]', { hasText: 'can you hear me' }).count(), 0);
});
