// Integration tests against two real livepushd nodes sharing a real redis-server: the SDK's
// client sits on node B while the room's messages are published through node A (the room's
// home, which keeps its sequence and history). B is killed and restarted mid-stream: the room
// must resume with no gap and no duplicate. B is drained (SIGTERM): the client must follow KICK
// 'draining' to the reconnect_to node and go on in its room there.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { newClient, Node, Redis, eventually, sleep, stopAll, token } from './harness.mjs';

let redis, a, b;
before(async () => {
  redis = await new Redis().start();
  a = await new Node({ redis, nodeId: 'sdk-a' }).start();
  b = await new Node({ redis, nodeId: 'sdk-b' }).start();
  // Both nodes see each other before a room's home is asked.
  await eventually(async () => (await a.api('GET', '/v1/rooms/1')).body.home && (await b.api('GET', '/v1/rooms/1')).body.home, 'the node list');
  await sleep(1200);
});
after(() => stopAll(a, b, redis));

/** A room id whose home is node `n` (rendezvous hashing decides; ask the API). */
async function roomHomedOn(n, from) {
  for (let id = from; id < from + 200; id++) {
    const r = await n.api('GET', `/v1/rooms/${id}`);
    if (r.body.home === n.nodeId) return id;
  }
  throw new Error(`no room homed on ${n.nodeId}`);
}

/** Publishes numbered room messages through `via` every `everyMs` until stopped. */
function publisher(via, roomId, everyMs) {
  let n = 0;
  let running = true;
  const seqs = [];
  const done = (async () => {
    while (running) {
      const i = ++n;
      const r = await via.api('POST', '/v1/push/room', { room_id: roomId, type: 'tick', payload: { n: i }, class: 'high' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      seqs.push(Number(r.body.room_seq));
      await sleep(everyMs);
    }
  })();
  return {
    get count() {
      return n;
    },
    seqs,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

test('the node under the client is killed and restarted mid-stream: the room resumes with no gap or duplicate', async (t) => {
  const roomId = await roomHomedOn(a, 100);
  const c = newClient(b.url, { token: token(5001), minReconnectDelay: 200, maxReconnectDelay: 600 });
  c.connect();
  await c.ready(10000);
  const room = c.room(roomId);
  const got = [];
  const entered = [];
  const resets = [];
  room.on('message', (m) => got.push(m));
  room.on('entered', (e) => entered.push(e));
  room.on('reset', (r) => resets.push(r));
  await room.enter();
  const pub = publisher(a, roomId, 25);
  await eventually(() => got.length >= 20, '20 messages before the crash');
  await b.stop('SIGKILL');
  const atCrash = got.length;
  await sleep(1000); // the stream goes on through A while B is down
  await b.start();
  await eventually(() => c.state === 'connected' && entered.length === 2, 'the client back on B');
  const backAt = pub.count;
  const target = pub.count + 10;
  await eventually(() => got.length >= target, 'live messages after the recovery');
  await pub.stop();
  const last = pub.seqs.at(-1);
  await eventually(() => room.lastSeq === last, `every message up to room_seq ${last}`);
  await sleep(300);

  t.diagnostic(`${pub.count} messages; ${pub.count - atCrash} after the crash; the client was back at message ${backAt}`);
  assert.ok(pub.count - atCrash > 20, `messages published while B was down or recovering: ${pub.count - atCrash}`);
  assert.deepEqual(resets, []);
  assert.equal(entered[1].recovered, true);
  const ns = got.map((m) => m.payload.n);
  assert.deepEqual(ns, Array.from({ length: pub.count }, (_, i) => i + 1), 'payloads 1..N, in order, once each');
  const seqs = got.map((m) => m.roomSeq);
  for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], seqs[i - 1] + 1, `room_seq gap at ${i}: ${seqs[i - 1]} -> ${seqs[i]}`);
  c.disconnect();
});

test("KICK 'draining' sends the client to reconnect_to, where it goes on in its room", async () => {
  const roomId = await roomHomedOn(a, 500);
  const c = newClient(b.url, { token: token(6001), minReconnectDelay: 100, maxReconnectDelay: 400 });
  const kicks = [];
  const connected = [];
  c.on('kicked', (k) => kicks.push(k));
  c.on('connected', (e) => connected.push(e));
  c.connect();
  await c.ready(10000);
  assert.equal(connected[0].nodeId, 'sdk-b');
  const room = c.room(roomId);
  const got = [];
  room.on('message', (m) => got.push(m));
  await room.enter();
  await a.api('POST', '/v1/push/room', { room_id: roomId, type: 'tick', payload: { n: 1 }, class: 'high' });
  await eventually(() => got.length === 1, 'a message on B');

  const drained = b.stop('SIGTERM');
  await eventually(() => kicks.length === 1, 'KICK draining');
  // The WebSocket URL of A (cluster.advertise_ws by default), not its TCP address.
  assert.deepEqual(kicks[0], { reason: 'draining', reconnectTo: `ws://127.0.0.1:${a.wsPort}/ws` });
  await eventually(() => connected.length === 2 && c.state === 'connected', 'the client on A');
  assert.equal(connected[1].nodeId, 'sdk-a');
  await drained;
  await eventually(async () => (await a.api('GET', `/v1/rooms/${roomId}`)).body.online === 1, 'the client back in the room, on A');
  await a.api('POST', '/v1/push/room', { room_id: roomId, type: 'tick', payload: { n: 2 }, class: 'high' });
  await eventually(() => got.length === 2, 'a message on A');
  assert.deepEqual(got.map((m) => m.payload.n), [1, 2]);
  await b.start(); // for whatever runs next
  c.disconnect();
});
