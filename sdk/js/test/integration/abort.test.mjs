// A node that accepts TCP and never answers (a black hole): the client's connect-and-login
// deadline closes sockets that are still connecting, and disconnect() closes one too. In Node the
// ws package reports such a close as an 'error' event, which must not crash the process.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { newClient, sleep, stopAll } from './harness.mjs';

after(() => stopAll());

test('sockets closed while still connecting (login deadline, disconnect) do not crash Node', async () => {
  const held = new Set();
  let accepted = 0;
  const hole = createServer((s) => {
    accepted++;
    held.add(s); // accepted, and the upgrade never answered
  });
  await new Promise((r) => hole.listen(0, '127.0.0.1', r));
  try {
    const url = `ws://127.0.0.1:${hole.address().port}/ws`;
    const c = newClient(url, { token: 't', timeout: 200, minReconnectDelay: 50, maxReconnectDelay: 100 });
    c.connect();
    await sleep(900); // several deadlines pass: each closes a connecting socket and retries
    assert.ok(accepted >= 2, `one socket per attempt: ${accepted}`);
    assert.equal(c.state, 'connecting');
    c.disconnect();
    assert.equal(c.state, 'disconnected');
    await sleep(100); // the ws package's 'error' comes on the next tick
  } finally {
    for (const s of held) s.destroy();
    await new Promise((r) => hole.close(r));
  }
});
