// Integration tests against one real embedded livepushd ($LIVEPUSHD): the SDK in Node (the `ws`
// package's constructor) logs in, lives through a lost network, a node restart and an expired
// token, and is checked on what reaches its handlers: qos1 pushes sent while it was away arrive
// once and are acked, a room whose history died with the node emits 'reset', a token
// refused as expired is replaced through getToken, and a guest gets its id from the server and
// the server's refusal codes.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { LivePushError } from '../../dist/esm/index.js';
import { newClient, Node, Proxy, eventually, sleep, stopAll, token } from './harness.mjs';

const started = [];
after(() => stopAll(...started));

async function node(extra) {
  const n = await new Node({ extra }).start();
  started.push(n);
  return n;
}

test('qos1 messages pushed while the client is disconnected arrive once after the reconnect', async () => {
  const n = await node();
  const proxy = await new Proxy(n.wsPort).start();
  started.push(proxy);
  const user = 2001;
  const c = newClient(proxy.url, { token: token(user), minReconnectDelay: 200, maxReconnectDelay: 500 });
  const got = [];
  c.on('push', (p) => got.push(p));
  c.connect();
  await c.ready(10000);
  const sent = [];
  const pushOne = async (i) => {
    const r = await n.api('POST', '/v1/push/user', { user_id: user, type: 'note', payload: { n: i }, qos: 1 });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    sent.push(r.body.msg_id);
    return r.body;
  };
  const inbox = async () => (await n.api('GET', `/v1/users/${user}`)).body.inbox;
  for (let i = 1; i <= 3; i++) await pushOne(i);
  await eventually(() => got.length === 3, '3 pushes while connected');
  await sleep(200); // their acks (sent within 10 ms) reach the node

  // 4 and 5 reach the client, but its ACKs are lost on the way: the node will send them again.
  proxy.holdUp();
  for (let i = 4; i <= 5; i++) await pushOne(i);
  await eventually(() => got.length === 5, 'pushes 4 and 5 (their acks lost)');
  proxy.cut(); // then the network goes; the node keeps what follows in the inbox
  await eventually(async () => (await n.api('GET', `/v1/users/${user}`)).body.online === false, 'the node to see the user offline');
  for (let i = 6; i <= 8; i++) assert.equal((await pushOne(i)).stored, 1);
  // 4..8 wait in the inbox, the two delivered ones included (in-flight messages are not counted
  // while the session lives, so this cannot tell whether 1..3's acks had arrived: at most 8).
  const waiting = await inbox();
  assert.ok(waiting >= 5 && waiting <= 8, `inbox ${waiting}`);
  assert.notEqual(c.state, 'connected');
  proxy.restore();

  await eventually(() => got.length >= 8, 'the inbox after the reconnect');
  await eventually(async () => (await inbox()) === 0, 'the inbox to empty (all acked)');
  await sleep(300); // a duplicate handed to the handler would show by now
  assert.deepEqual(got.map((p) => p.payload.n), [1, 2, 3, 4, 5, 6, 7, 8], 'each once, in order');
  assert.deepEqual(got.map((p) => p.msgId), sent);
  assert.ok(got.every((p) => p.qos === 1 && p.type === 'note'));
});

test('an expired token makes the client call getToken and log in', async () => {
  // exp is checked to the second; the session is not kicked at exp (the KICK path is below), so
  // the stale token reaches a LOGIN and is refused with TOKEN_EXPIRED.
  const n = await node(['--jwt-leeway-s', '0', '--expire-sessions', 'false']);
  let calls = 0;
  const c = newClient(n.url, {
    token: token(3001, 2),
    getToken: async () => {
      calls++;
      return token(3001);
    },
    minReconnectDelay: 100,
    maxReconnectDelay: 300,
  });
  const errors = [];
  c.on('error', (e) => errors.push(e));
  c.connect();
  await c.ready(10000);
  assert.equal(calls, 0); // the given token was still good
  await sleep(3100); // now it is expired
  // The node restarts (a drain, then the same address): the next LOGIN carries the stale token.
  await n.stop('SIGTERM');
  await n.start(); // (the same flags: no leeway)
  await eventually(() => c.state === 'connected' && calls > 0, 'connected with a fresh token');
  assert.equal(calls, 1);
  assert.ok(errors.some((e) => e.code === 2002), JSON.stringify(errors));
  assert.equal(c.userId, '3001');
});

test('a session whose token expires is kicked (token_expired) and the client logs in with a fresh one', async () => {
  const n = await node(['--jwt-leeway-s', '0']);
  let calls = 0;
  const c = newClient(n.url, {
    token: token(3002, 2),
    getToken: async () => {
      calls++;
      return token(3002);
    },
    minReconnectDelay: 100,
    maxReconnectDelay: 300,
  });
  const errors = [];
  c.on('error', (e) => errors.push(e));
  c.connect();
  await c.ready(10000);
  assert.equal(calls, 0); // the given token was still good
  // The node kicks the session at exp (2 s, to the next second); the SDK fetches a fresh token.
  await eventually(() => c.state === 'connected' && calls > 0, 'reconnected with a fresh token');
  assert.equal(calls, 1);
  assert.ok(!errors.some((e) => e.code === 2002), 'the stale token is never sent: ' + JSON.stringify(errors));
  assert.equal(c.userId, '3002');
});

test("a room whose history died with its node emits 'reset' with the fresh state after the restart", async () => {
  const n = await node();
  const c = newClient(n.url, { token: token(4001), minReconnectDelay: 100, maxReconnectDelay: 300 });
  c.connect();
  await c.ready(10000);
  const room = c.room(4242);
  const resets = [];
  const msgs = [];
  room.on('reset', (r) => resets.push(r));
  room.on('message', (m) => msgs.push(m));
  const entered = await room.enter();
  assert.equal(entered.recovered, false);
  for (let i = 0; i < 3; i++)
    await n.api('POST', '/v1/push/room', { room_id: 4242, type: 'tick', payload: { n: i }, class: 'high' });
  await eventually(() => room.lastSeq === 3, 'three room messages');
  await n.stop('SIGKILL');
  await n.start();
  await eventually(() => resets.length === 1, "'reset' after the restart");
  assert.deepEqual(resets[0].state, {});
  // The room goes on in its new incarnation.
  const r = await n.api('POST', '/v1/push/room', { room_id: 4242, type: 'tick', payload: { n: 99 }, class: 'high' });
  await eventually(() => msgs.some((m) => m.payload.n === 99), 'a message after the reset');
  assert.equal(room.lastSeq, Number(r.body.room_seq));
});

test("a guest gets its user id from the server; what it may not do rejects with the server's code", async () => {
  const n = await node(['--guests', 'true']);
  const c = newClient(n.url, {}); // no token, no getToken: a guest
  const connected = [];
  c.on('connected', (e) => connected.push(e));
  c.connect();
  await c.ready(10000);
  assert.ok(BigInt(c.userId) >= 2n ** 63n, c.userId);
  assert.deepEqual(connected, [{ userId: c.userId, nodeId: n.nodeId, role: 'guest' }]);
  const room = c.room(77);
  const entered = await room.enter();
  assert.equal(entered.online, 1);
  await assert.rejects(room.chat('hi'), (e) => e instanceof LivePushError && e.code === 3011 && /guest|not allowed/i.test(e.message));
  await assert.rejects(c.send('room.leave', { room_id: 78 }), (e) => e instanceof LivePushError && e.code === 3003);
  await assert.rejects(c.send('no.such.type', {}), (e) => e instanceof LivePushError && e.code === 3001);
});
