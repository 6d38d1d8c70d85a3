// The built package's entry points: the ESM and CJS builds export the same API (LivePush as
// default and named export, LivePushError, the code tables), and the browser IIFE, run as a
// page would run it, defines the global LivePush as the class itself.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import vm from 'node:vm';
import * as esm from '../../dist/esm/index.js';

test('ESM and CJS export the same public API', () => {
  const cjs = createRequire(import.meta.url)('../../dist/cjs/index.cjs');
  for (const mod of [esm, cjs]) {
    assert.equal(typeof mod.LivePush, 'function');
    assert.equal(mod.default, mod.LivePush);
    assert.equal(typeof mod.LivePushError, 'function');
    assert.equal(mod.ClientCodes.TIMEOUT, 1);
    assert.equal(mod.ServerCodes.TOKEN_EXPIRED, 2002);
    const e = new mod.LivePushError(3003, 'not in room 1', { room_id: '1' });
    assert.ok(e instanceof Error);
    assert.deepEqual([e.name, e.code, e.message, e.data], ['LivePushError', 3003, 'not in room 1', { room_id: '1' }]);
  }
});

test('the IIFE bundle defines the global LivePush, a constructor with the error class on it', () => {
  const code = readFileSync(new URL('../../dist/livepush.iife.js', import.meta.url), 'utf8');
  const sandbox = { setTimeout, clearTimeout, setInterval, clearInterval, URL, atob, btoa, TextEncoder, console };
  sandbox.globalThis = sandbox;
  vm.runInNewContext(code, sandbox);
  const LP = sandbox.LivePush;
  assert.equal(typeof LP, 'function');
  const client = new LP('ws://x/ws', { token: 't' });
  assert.equal(client.state, 'disconnected');
  assert.equal(typeof client.room(1).enter, 'function');
  assert.equal(typeof LP.LivePushError, 'function');
  assert.equal(LP.ServerCodes.ROOM_MUTED, 3012);
  assert.ok(!/\bimport\b|\brequire\(/.test(code), 'no module loader needed');
});
