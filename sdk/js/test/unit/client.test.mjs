// Unit tests of the client's connection policies against a fake socket and fake timers:
// backoff bounds and jitter, qos1 dedupe and its memory bound, ack batching, kicks, request
// timeouts with the typed error, heartbeat misses, and the expired-token refresh.
import { test, mock, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { LivePush, LivePushError, ClientCodes, backoffDelay } from '../../dist/esm/index.js';
import { FakeSocket, last, setup, tick, flush, connected, record } from './fake.mjs';

let cleanup;
beforeEach(() => {
  cleanup = setup();
});
afterEach(() => cleanup());

test('backoff stays within [min, max] and grows with the attempt', () => {
  for (let attempt = 0; attempt < 40; attempt++)
    for (const r of [0, 0.25, 0.5, 0.999999]) {
      const d = backoffDelay(attempt, 500, 20000, () => r);
      assert.ok(d >= 500 && d <= 20000, `attempt ${attempt} random ${r}: ${d}`);
    }
  // The window doubles: the largest delay of attempt n is min + min * 2^n (until max).
  assert.equal(backoffDelay(0, 500, 20000, () => 0.999999), 999);
  assert.equal(backoffDelay(3, 500, 20000, () => 0.999999), 4499);
  assert.equal(backoffDelay(10, 500, 20000, () => 0.999999), 20000);
});

test('backoff is full jitter: delays spread over the whole window', () => {
  const seen = new Set();
  for (let i = 0; i < 200; i++) seen.add(Math.floor(backoffDelay(4, 500, 20000) / 1000));
  // Window [500, 8500): every 1-second bucket 0..8 is hit by 200 uniform draws.
  assert.ok(seen.size >= 8, `only buckets ${[...seen]}`);
});

test('the client reconnects after the backoff delay, not before', async () => {
  mock.method(Math, 'random', () => 0.5);
  const { c, s } = connected({ minReconnectDelay: 1000, maxReconnectDelay: 8000 });
  const states = record(c, 'state');
  s.drop();
  assert.equal(c.state, 'connecting');
  assert.deepEqual(states.at(-1), { oldState: 'connected', newState: 'connecting', code: 1006, reason: 'network' });
  const before = FakeSocket.all.length;
  tick(1499); // attempt 0: 1000 + 0.5 * 1000
  assert.equal(FakeSocket.all.length, before);
  tick(1);
  assert.equal(FakeSocket.all.length, before + 1);
  // A second failure waits longer (attempt 1: 1000 + 0.5 * 2000).
  last().drop();
  tick(1999);
  assert.equal(FakeSocket.all.length, before + 1);
  tick(1);
  assert.equal(FakeSocket.all.length, before + 2);
  // A successful login resets the attempt count.
  last().open();
  last().acceptLogin();
  assert.equal(c.state, 'connected');
  last().drop();
  tick(1500);
  assert.equal(FakeSocket.all.length, before + 3);
  c.disconnect();
});

test('a qos1 push delivered twice reaches the handler once and is acked both times', () => {
  const { c, s } = connected();
  const pushes = record(c, 'push');
  const p = { code: 3001, seq: 0, body: { msgId: '17', type: 'note', payload: { a: 1 } }, flags: 1 };
  s.recv(p);
  tick(10);
  s.recv(p); // the server's resend: our first ack was lost
  tick(10);
  assert.equal(pushes.length, 1);
  assert.deepEqual(pushes[0], { msgId: '17', type: 'note', payload: { a: 1 }, qos: 1 });
  assert.deepEqual(s.frames(1005).map((f) => f.body.msgIds), [['17'], ['17']]);
  c.disconnect();
});

test('the msgId memory is bounded: the oldest ids are forgotten first', () => {
  const { c, s } = connected({ dedupeSize: 3 });
  const pushes = record(c, 'push');
  const push = (id) => s.recv({ code: 3001, body: { msgId: id, type: 'n' }, flags: 1 });
  for (const id of ['1', '2', '3', '4']) push(id);
  push('4'); // remembered
  push('2'); // remembered
  push('1'); // forgotten (capacity 3): delivered again
  assert.deepEqual(pushes.map((p) => p.msgId), ['1', '2', '3', '4', '1']);
  c.disconnect();
});

test('acks are batched within 10 ms, at most 256 ids an ACK', () => {
  const { c, s } = connected();
  for (let i = 1; i <= 3; i++) s.recv({ code: 3001, body: { msgId: String(i), type: 'n' }, flags: 1 });
  s.recv({ code: 3001, body: { msgId: '99', type: 'room-ish' } }); // qos0: no ack
  tick(9);
  assert.equal(s.frames(1005).length, 0);
  tick(1);
  assert.deepEqual(s.frames(1005).map((f) => f.body.msgIds), [['1', '2', '3']]);
  for (let i = 0; i < 300; i++) s.recv({ code: 3001, body: { msgId: `m${i}`, type: 'n' }, flags: 1 });
  tick(10);
  const sizes = s.frames(1005).slice(1).map((f) => f.body.msgIds.length);
  assert.deepEqual(sizes, [256, 44]);
  c.disconnect();
});

test("KICK 'draining' reconnects to reconnectTo with the same scheme and path", () => {
  const { c, s } = connected({ minReconnectDelay: 100, maxReconnectDelay: 1000 });
  const kicks = record(c, 'kicked');
  s.recv({ code: 3002, body: { reason: 'draining', reconnectTo: '10.0.0.2:7101' } });
  assert.deepEqual(kicks, [{ reason: 'draining', reconnectTo: '10.0.0.2:7101' }]);
  assert.equal(c.state, 'connecting');
  tick(1000);
  assert.equal(last().url, 'ws://10.0.0.2:7101/ws');
  // If that node fails too, the next attempt goes back to the configured URL.
  last().drop();
  tick(1000);
  assert.equal(last().url, 'ws://node-a:7001/ws');
  c.disconnect();
});

test("KICK 'draining' with a ws:// or wss:// URL reconnects to that URL as given", () => {
  for (const to of ['ws://10.0.0.3:7001/ws', 'wss://node-b.example:443/ws']) {
    const { c, s } = connected({ minReconnectDelay: 100, maxReconnectDelay: 1000 });
    s.recv({ code: 3002, body: { reason: 'draining', reconnectTo: to } });
    tick(1000);
    assert.equal(last().url, to);
    c.disconnect();
  }
});

test("KICK 'draining' with a URL of another scheme goes back to the configured URL", () => {
  for (const to of ['http://evil.example/ws', 'javascript:alert(1)//x', 'ws://[bad', 'a b:1']) {
    const { c, s } = connected({ minReconnectDelay: 100, maxReconnectDelay: 1000 });
    s.recv({ code: 3002, body: { reason: 'draining', reconnectTo: to } });
    tick(1000);
    assert.equal(last().url, 'ws://node-a:7001/ws', to);
    c.disconnect();
  }
});

for (const reason of ['replaced', 'banned']) {
  test(`KICK '${reason}' ends the session: no reconnect`, () => {
    const { c, s } = connected({ minReconnectDelay: 100, maxReconnectDelay: 1000 });
    const gone = record(c, 'disconnected');
    s.recv({ code: 3002, body: { reason } });
    assert.equal(c.state, 'disconnected');
    assert.equal(gone.length, 1);
    assert.match(gone[0].reason, new RegExp(reason));
    const n = FakeSocket.all.length;
    tick(60000);
    assert.equal(FakeSocket.all.length, n);
  });
}

test('a request without an answer rejects after the timeout with a typed error', async () => {
  const { c } = connected({ timeout: 2000 });
  const p = c.send('pk.invite', { to: 7 });
  const failed = assert.rejects(p, (e) => {
    assert.ok(e instanceof LivePushError);
    assert.equal(e.code, ClientCodes.TIMEOUT);
    assert.match(e.message, /pk\.invite: no answer within 2000 ms/);
    return true;
  });
  tick(1999);
  await flush();
  tick(1);
  await failed;
  c.disconnect();
});

test("a server refusal rejects with the server's code, message and data", async () => {
  const { c, s } = connected();
  const room = c.room(5);
  const entered = room.enter();
  s.answerBiz('room.enter', { room_id: '5', online: 1, room_seq: '0', epoch: '9', state: {} });
  await entered;
  const chat = room.chat('hi');
  s.answerBiz('room.chat', { room_id: '5', retry_after_ms: 3120 }, { code: 3014, message: 'slow mode' });
  await assert.rejects(chat, (e) => e instanceof LivePushError && e.code === 3014 && e.message === 'slow mode' && e.data.retry_after_ms === 3120);
  c.disconnect();
});

test('requests made while connecting are sent after the login', async () => {
  const c = new LivePush('ws://a/ws', { token: 't', WebSocket: FakeSocket, timeout: 3000 });
  c.connect();
  const p = c.send('x.y', { a: 1 });
  last().open();
  assert.equal(last().frames(1003).length, 0);
  last().acceptLogin();
  const biz = last().frames(1003);
  assert.equal(biz.length, 1);
  assert.deepEqual(biz[0].body, { type: 'x.y', data: { a: 1 } });
  last().answerBiz('x.y', { ok: true });
  assert.deepEqual(await p, { ok: true });
  c.disconnect();
});

test('a missed PONG counts as a dead connection: the client reconnects', () => {
  mock.method(Math, 'random', () => 0);
  const c = new LivePush('ws://a/ws', { token: 't', WebSocket: FakeSocket, timeout: 2000, minReconnectDelay: 500 });
  c.connect();
  const s = last();
  s.open();
  s.acceptLogin({ heartbeatIntervalMs: 10000 });
  tick(10000);
  const hb = s.frames(1004);
  assert.equal(hb.length, 1);
  s.recv({ code: 2004, seq: hb[0].seq, body: { serverTimeMs: '1' } }); // answered: fine
  tick(10000);
  assert.equal(s.frames(1004).length, 2);
  assert.equal(c.state, 'connected');
  tick(2000); // the second one is not answered within the timeout
  assert.equal(c.state, 'connecting');
  assert.ok(s.closed);
  tick(500);
  assert.notEqual(last(), s);
  c.disconnect();
});

test('an expired token (2002) makes the client call getToken and log in again', async () => {
  let calls = 0;
  const c = new LivePush('ws://a/ws', {
    token: 'old',
    getToken: async () => `fresh-${++calls}`,
    WebSocket: FakeSocket,
  });
  const errors = record(c, 'error');
  c.connect();
  let s = last();
  s.open();
  const login = s.frames(1001)[0];
  assert.equal(login.body.token, 'old');
  s.recv({ code: 2001, seq: login.seq, body: { code: 2002, message: 'token expired' } });
  assert.deepEqual(errors, [{ code: 2002, message: 'token expired' }]);
  tick(0);
  await flush();
  s = last();
  s.open();
  assert.equal(s.frames(1001)[0].body.token, 'fresh-1');
  s.acceptLogin();
  assert.equal(c.state, 'connected');
  assert.equal(calls, 1);
  c.disconnect();
});

test('another token refusal is final: no getToken, no reconnect', () => {
  const c = new LivePush('ws://a/ws', { token: 'bad', getToken: async () => 'x', WebSocket: FakeSocket });
  const gone = record(c, 'disconnected');
  c.connect();
  last().open();
  const login = last().frames(1001)[0];
  last().recv({ code: 2001, seq: login.seq, body: { code: 2001, message: 'bad signature' } });
  assert.equal(c.state, 'disconnected');
  assert.deepEqual(gone, [{ code: 2001, reason: 'bad signature' }]);
  const n = FakeSocket.all.length;
  tick(60000);
  assert.equal(FakeSocket.all.length, n);
});

test('no token: getToken is asked before the first login; neither: a guest login', async () => {
  const c = new LivePush('ws://a/ws', { getToken: async () => 'minted', WebSocket: FakeSocket });
  c.connect();
  await flush();
  last().open();
  assert.equal(last().frames(1001)[0].body.token, 'minted');
  c.disconnect();
  const g = new LivePush('ws://a/ws', { WebSocket: FakeSocket, platform: 'mini', deviceId: 'd1' });
  g.connect();
  last().open();
  assert.deepEqual(last().frames(1001)[0].body, { token: '', platform: 'mini', deviceId: 'd1' });
  last().acceptLogin({ userId: '9223372036854775809', role: 'guest' });
  assert.equal(g.userId, '9223372036854775809');
  g.disconnect();
});

test("the browser's online event reconnects at once", () => {
  const listeners = {};
  globalThis.addEventListener = (n, f) => (listeners[n] = f);
  globalThis.removeEventListener = (n) => delete listeners[n];
  try {
    const { c, s } = connected({ minReconnectDelay: 5000, maxReconnectDelay: 20000 });
    s.drop();
    const n = FakeSocket.all.length;
    listeners.online();
    assert.equal(FakeSocket.all.length, n + 1);
    c.disconnect();
    assert.equal(listeners.online, undefined);
  } finally {
    delete globalThis.addEventListener;
    delete globalThis.removeEventListener;
  }
});

test('connect() without any WebSocket constructor throws at once, saying what to pass', () => {
  const saved = globalThis.WebSocket; // none in Node 20; Node 22 has one
  globalThis.WebSocket = undefined;
  try {
    const c = new LivePush('ws://a/ws', { token: 't' });
    assert.throws(() => c.connect(), /pass opts\.WebSocket/);
    assert.equal(c.state, 'disconnected');
  } finally {
    globalThis.WebSocket = saved;
  }
});
