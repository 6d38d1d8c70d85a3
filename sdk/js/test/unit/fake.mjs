// A fake WebSocket and a scripted server for the unit tests: each LivePush the test builds gets
// FakeSocket as opts.WebSocket; the test opens sockets, feeds them envelopes and reads what the
// client sent. Timers are node:test's mock timers, so time only moves when the test ticks it.
import { mock } from 'node:test';
import { LivePush } from '../../dist/esm/index.js';

export class FakeSocket {
  static all = [];
  constructor(url) {
    this.url = url;
    this.sent = [];
    this.closed = false;
    FakeSocket.all.push(this);
  }
  send(text) {
    if (this.closed) throw new Error('send on a closed socket');
    this.sent.push(JSON.parse(text));
  }
  close() {
    this.closed = true;
  }
  // ---- the server's side
  open() {
    this.onopen?.({});
  }
  recv(env) {
    this.onmessage?.({ data: JSON.stringify(env) });
  }
  drop(code = 1006) {
    this.closed = true;
    this.onclose?.({ code, reason: 'network' });
  }
  /** The frames the client sent with this code. */
  frames(code) {
    return this.sent.filter((f) => f.code === code);
  }
  /** Answers the LOGIN the client sent (after open()). */
  acceptLogin(extra = {}) {
    const login = this.frames(1001).at(-1);
    if (!login) throw new Error('no LOGIN sent');
    this.recv({
      code: 2001,
      seq: login.seq,
      body: { userId: '42', nodeId: 'n1', heartbeatIntervalMs: 30000, role: 'viewer', ...extra },
    });
    return login;
  }
  /** Answers the last BIZ of `type` with data (code 0) or a refusal {code, message, data}. */
  answerBiz(type, data = {}, refusal) {
    const req = this.sent.filter((f) => f.code === 1003 && f.body.type === type).at(-1);
    if (!req) throw new Error(`no BIZ ${type} sent`);
    this.recv({ code: 2003, seq: req.seq, body: { type, data, ...(refusal ?? {}) } });
    return req;
  }
}

export const last = () => FakeSocket.all.at(-1);

/** Fake timers and a fresh socket list for one test; returns a cleanup. */
export function setup() {
  FakeSocket.all = [];
  mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  return () => {
    mock.timers.reset();
    mock.restoreAll();
  };
}

export const tick = (ms) => mock.timers.tick(ms);
export const flush = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

/** A client logged in on a fake socket. */
export function connected(opts = {}) {
  const c = new LivePush('ws://node-a:7001/ws', { token: 't0', WebSocket: FakeSocket, ...opts });
  c.connect();
  const s = last();
  s.open();
  s.acceptLogin();
  return { c, s };
}

/** Collects a client's (or room's) events of one name. */
export function record(emitter, name) {
  const out = [];
  emitter.on(name, (e) => out.push(e));
  return out;
}
