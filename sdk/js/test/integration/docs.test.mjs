// The ten-line quick start of docs/sdk.md (the same block as README's "From a web page") runs
// as written against a real node: the page's globals (the LivePush bundle's global, TOKEN, the
// elements it touches) are stood in for, the URL is the test node's, and what it shows is
// checked: its chat comes back as a message, the like reaches the likes counter.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { LivePush } from '../../dist/esm/index.js';
import { Node, eventually, stopAll, token } from './harness.mjs';

const repo = new URL('../../../../', import.meta.url);
let node;
after(() => stopAll(node));

function quickStart(file) {
  const text = readFileSync(new URL(file, repo), 'utf8');
  const block = text.match(/```html\n([\s\S]*?)```/);
  assert.ok(block, `${file} has an html example`);
  const script = block[1].match(/<script>\n([\s\S]*?)<\/script>/);
  assert.ok(script, `${file}'s example has an inline script`);
  return { block: block[1], script: script[1] };
}

test('the quick start of docs/sdk.md and README runs as written', async () => {
  const doc = quickStart('docs/sdk.md');
  assert.equal(quickStart('README.md').block, doc.block, 'README shows the same example');
  assert.ok(doc.script.split('\n').filter((l) => l.trim()).length <= 10, 'ten lines');
  node = await new Node().start();

  const el = () => ({ textContent: '', value: '', onclick: null });
  const page = { online: el(), likes: el(), send: el(), input: el(), heart: el() };
  const logged = [];
  const alerts = [];
  const consoleStub = { log: (...a) => logged.push(a) };
  globalThis.WebSocket = WebSocket; // what a browser has
  let made;
  try {
    const run = new Function(
      'LivePush', 'TOKEN', 'console', 'alert', ...Object.keys(page),
      doc.script.replace('wss://live.example.com/ws', node.url) + '\nreturn { client, room };',
    );
    made = run(LivePush, token(7001), consoleStub, (m) => alerts.push(m), ...Object.values(page));
    const { room } = made;
    await eventually(() => logged.some((a) => a[0] === 'in the room with'), 'the room entered');
    page.input.value = 'hello from the page';
    page.send.onclick();
    await eventually(() => logged.some((a) => a[0] === '7001' && a[2]?.text === 'hello from the page'), 'the chat back as a message');
    page.heart.onclick();
    await eventually(() => page.likes.textContent === 1, 'the like counted');
    assert.equal(page.online.textContent, '', 'no online change yet (one member)');
    assert.deepEqual(alerts, []);
    assert.equal(room.lastSeq >= 1, true);
  } finally {
    made?.client.disconnect(); // also when an assertion failed: no reconnect loop left behind
    delete globalThis.WebSocket;
  }
});
