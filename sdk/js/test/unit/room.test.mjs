// Unit tests of a room against a fake socket: events by push type, lastSeq and duplicates,
// re-entering with lastSeq and epoch after a reconnect (recovered, or 'reset' with the fresh
// state), and like batching within the server's limits.
import { test, mock, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { setup, tick, flush, connected, record, last } from './fake.mjs';

let cleanup;
beforeEach(() => {
  cleanup = setup();
});
afterEach(() => cleanup());

const push = (s, body) => s.recv({ code: 3001, seq: 0, body });

async function inRoom(opts) {
  const { c, s } = connected(opts);
  const room = c.room(1001);
  const p = room.enter();
  const req = s.answerBiz('room.enter', {
    room_id: '1001', online: 3, room_seq: '10', epoch: '777', likes_total: 5,
    state: { pk: { value: { a: 1 }, version: 4 }, likes: { value: 5, version: 6 } },
  });
  assert.deepEqual(req.body.data, { room_id: '1001' }); // a first enter asks no recovery
  const r = await p;
  assert.deepEqual(r, { online: 3, roomSeq: 10, recovered: false, likesTotal: 5,
    state: { pk: { value: { a: 1 }, version: 4 }, likes: { value: 5, version: 6 } } });
  return { c, s, room };
}

test('room pushes become events by type; only sequenced ones move lastSeq', async () => {
  const { c, s, room } = await inRoom();
  const msgs = record(room, 'message'), states = record(room, 'state');
  const online = record(room, 'online'), likes = record(room, 'likes');
  push(s, { msgId: '1', type: 'room.chat', roomId: '1001', roomSeq: '11', sentAtMs: '5',
    payload: { from: '7', text: 'hi', profile: { name: 'Ann', level: 3 } } });
  push(s, { msgId: '2', type: 'room.online', roomId: '1001', payload: { count: 9 } });
  push(s, { msgId: '3', type: 'room.likes', roomId: '1001', payload: { total: 12, delta: 7 } });
  push(s, { msgId: '4', type: 'room.state', roomId: '1001', roomSeq: '12', payload: { key: 'pk', value: { a: 2 }, version: 7 } });
  push(s, { msgId: '5', type: 'room.state', roomId: '1001', roomSeq: '13', payload: { key: 'pk', value: { a: 0 }, version: 5 } }); // older
  push(s, { msgId: '6', type: 'gift.effect', roomId: '1001', roomSeq: '15', payload: { from: '8', gift: 'rocket' } }); // a budget gap: fine
  push(s, { msgId: '6', type: 'gift.effect', roomId: '1001', roomSeq: '15', payload: { from: '8', gift: 'rocket' } }); // duplicate
  push(s, { msgId: '7', type: 'room.state', roomId: '1001', roomSeq: '16', payload: { key: 'likes', value: null, version: 8 } });
  assert.deepEqual(msgs, [
    { type: 'room.chat', payload: { from: '7', text: 'hi', profile: { name: 'Ann', level: 3 } }, roomSeq: 11, msgId: '1',
      from: '7', profile: { name: 'Ann', level: 3 }, sentAtMs: 5 },
    { type: 'gift.effect', payload: { from: '8', gift: 'rocket' }, roomSeq: 15, msgId: '6', from: '8' },
  ]);
  assert.deepEqual(online, [{ count: 9 }]);
  assert.deepEqual(likes, [{ total: 12, delta: 7 }]);
  assert.deepEqual(states, [{ key: 'pk', value: { a: 2 }, version: 7 }, { key: 'likes', value: null, version: 8 }]);
  assert.deepEqual(room.state, { pk: { value: { a: 2 }, version: 7 } });
  assert.equal(room.lastSeq, 16);
  c.disconnect();
});

test('after a reconnect the room re-enters with lastSeq and epoch; the replay fills the gap once', async () => {
  mock.method(Math, 'random', () => 0);
  const { c, s, room } = await inRoom({ minReconnectDelay: 100 });
  const msgs = record(room, 'message'), resets = record(room, 'reset');
  push(s, { msgId: 'a', type: 'chat', roomId: '1001', roomSeq: '11', payload: { n: 11 } });
  s.drop();
  tick(100);
  const s2 = last();
  s2.open();
  s2.acceptLogin();
  const req = s2.frames(1003)[0];
  assert.deepEqual(req.body, { type: 'room.enter', data: { room_id: '1001', last_seq: 11, epoch: '777' } });
  // The result, then the replayed pushes in the same read (the handler must see lastSeq set).
  s2.recv({ code: 2003, seq: req.seq, body: { type: 'room.enter', data: { room_id: '1001', online: 2, room_seq: '13', epoch: '777', recovered: true, replayed: 2, state: {} } } });
  push(s2, { msgId: 'b', type: 'chat', roomId: '1001', roomSeq: '12', payload: { n: 12 } });
  push(s2, { msgId: 'c', type: 'chat', roomId: '1001', roomSeq: '13', payload: { n: 13 } });
  push(s2, { msgId: 'c', type: 'chat', roomId: '1001', roomSeq: '13', payload: { n: 13 } });
  push(s2, { msgId: 'd', type: 'chat', roomId: '1001', roomSeq: '14', payload: { n: 14 } });
  assert.deepEqual(msgs.map((m) => m.payload.n), [11, 12, 13, 14]);
  assert.deepEqual(resets, []);
  assert.deepEqual(room.state, { pk: { value: { a: 1 }, version: 4 }, likes: { value: 5, version: 6 } }); // kept
  c.disconnect();
});

test("a gap the server cannot fill emits 'reset' with the fresh state snapshot", async () => {
  mock.method(Math, 'random', () => 0);
  const { c, s, room } = await inRoom({ minReconnectDelay: 100 });
  const resets = record(room, 'reset'), entered = record(room, 'entered');
  s.drop();
  tick(100);
  const s2 = last();
  s2.open();
  s2.acceptLogin();
  s2.answerBiz('room.enter', { room_id: '1001', online: 1, room_seq: '5000', epoch: '888', recovered: false, replayed: 0,
    state: { title: { value: 'new', version: 1 } } });
  await flush();
  assert.deepEqual(resets, [{ state: { title: { value: 'new', version: 1 } } }]);
  assert.deepEqual(entered, [{ online: 1, roomSeq: 5000, recovered: false }]);
  assert.equal(room.lastSeq, 5000);
  assert.deepEqual(room.state, { title: { value: 'new', version: 1 } });
  // The next reconnect recovers from the new epoch.
  s2.drop();
  tick(100);
  last().open();
  last().acceptLogin();
  assert.deepEqual(last().frames(1003)[0].body.data, { room_id: '1001', last_seq: 5000, epoch: '888' });
  c.disconnect();
});

test('room.banned takes the room out: left {reason: banned}, no re-enter after a reconnect', async () => {
  mock.method(Math, 'random', () => 0);
  const { c, s, room } = await inRoom({ minReconnectDelay: 100 });
  const left = record(room, 'left');
  push(s, { msgId: 'x', type: 'room.banned', payload: { room_id: '1001', until_ms: 0 } });
  assert.deepEqual(left, [{ reason: 'banned' }]);
  s.drop();
  tick(100);
  last().open();
  last().acceptLogin();
  assert.equal(last().frames(1003).length, 0);
  c.disconnect();
});

test('likes are batched: many clicks, one room.like; a rate refusal waits and resends them', async () => {
  const { c, s, room } = await inRoom({ likeBatchMs: 200 });
  for (let i = 0; i < 30; i++) room.like();
  room.like(5);
  tick(199);
  assert.equal(s.frames(1003).filter((f) => f.body.type === 'room.like').length, 0);
  tick(1);
  const likes = () => s.frames(1003).filter((f) => f.body.type === 'room.like');
  assert.deepEqual(likes().map((f) => f.body.data), [{ room_id: '1001', count: 35 }]);
  s.answerBiz('room.like', {}, { code: 3020, message: 'too fast', data: { retry_after_ms: 300 } });
  await flush();
  room.like(70); // 105 waiting: sent as 100 then 5 (room.like_max_count)
  tick(300);
  assert.deepEqual(likes().slice(1).map((f) => f.body.data.count), [100]);
  s.answerBiz('room.like', { room_id: '1001', count: 100 });
  await flush();
  tick(200);
  assert.deepEqual(likes().slice(2).map((f) => f.body.data.count), [5]);
  c.disconnect();
});

test('leave sends room.leave and emits left; pushes for the room then go unheard', async () => {
  const { c, s, room } = await inRoom();
  const left = record(room, 'left'), msgs = record(room, 'message');
  const p = room.leave();
  s.answerBiz('room.leave', { room_id: '1001', online: 2 });
  await p;
  assert.deepEqual(left, [{ reason: 'leave' }]);
  push(s, { msgId: 'z', type: 'chat', roomId: '1001', roomSeq: '20', payload: {} });
  assert.equal(msgs.length, 0);
  c.disconnect();
});

test('enter() twice at once sends one room.enter; during a reconnect it re-enters with recovery', async () => {
  mock.method(Math, 'random', () => 0);
  const { c, s } = connected({ minReconnectDelay: 100 });
  const room = c.room(9);
  const [p1, p2] = [room.enter(), room.enter()];
  assert.equal(p1, p2);
  assert.equal(s.frames(1003).length, 1);
  s.answerBiz('room.enter', { room_id: '9', online: 1, room_seq: '4', epoch: '55', state: {} });
  await p1;
  s.drop();
  const again = room.enter(); // the app asks while the client is reconnecting
  tick(100);
  last().open();
  last().acceptLogin();
  const enters = last().frames(1003);
  assert.ok(enters.length >= 1);
  for (const f of enters) assert.deepEqual(f.body.data, { room_id: '9', last_seq: 4, epoch: '55' });
  for (const f of enters)
    last().recv({ code: 2003, seq: f.seq, body: { type: 'room.enter', data: { room_id: '9', online: 1, room_seq: '4', epoch: '55', recovered: true } } });
  assert.equal((await again).recovered, true);
  c.disconnect();
});

test('a re-enter refused for a while is retried; refused as banned, the room is left', async () => {
  mock.method(Math, 'random', () => 0);
  const { c, s } = connected({ minReconnectDelay: 100 });
  const a = c.room(1), b = c.room(2);
  const left = record(b, 'left'), errors = record(c, 'error');
  for (const r of [a, b]) {
    const p = r.enter();
    s.answerBiz('room.enter', { room_id: r.id, online: 1, room_seq: '0', epoch: '1', state: {} });
    await p;
  }
  s.drop();
  tick(100);
  const s2 = last();
  s2.open();
  s2.acceptLogin();
  const [ea, eb] = s2.frames(1003);
  s2.recv({ code: 2003, seq: ea.seq, body: { type: 'room.enter', code: 3006, message: 'busy', data: {} } });
  s2.recv({ code: 2003, seq: eb.seq, body: { type: 'room.enter', code: 3013, message: 'banned', data: { room_id: '2', until_ms: 0 } } });
  await flush();
  assert.deepEqual(left, [{ reason: 'banned' }]);
  assert.deepEqual(errors.map((e) => e.code), [3006]);
  tick(100);
  const retry = s2.frames(1003).slice(2);
  assert.deepEqual(retry.map((f) => f.body.data), [{ room_id: '1', last_seq: 0, epoch: '1' }]);
  c.disconnect();
});
