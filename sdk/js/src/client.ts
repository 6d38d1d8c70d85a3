// LivePush: one long WebSocket connection to a livepush node speaking the text envelope v1.1.
// It owns the connection's life: login (with getToken when the token is missing or expired),
// heartbeats at the server's interval (a PONG not back within `timeout` = a dead connection),
// reconnects with full-jitter exponential backoff (and at once when the browser says it is back
// online), KICKs (reconnect after 'draining', to reconnectTo when given, never after 'replaced'
// or 'banned'), requests matched by seq with a timeout each, qos1 pushes delivered once (a
// bounded msgId memory) and acked in batches within ~10 ms, and re-entering every room with its
// lastSeq after a reconnect so the server replays what was missed (room.ts).
// It has no runtime dependency: the same code runs in browsers and, with the `ws` package's
// constructor in opts.WebSocket, in Node.

import { backoffDelay, RecentIds } from './backoff.js';
import { Emitter } from './emitter.js';
import { ClientCodes, LivePushError, ServerCodes } from './errors.js';
import { Room, type RoomHost } from './room.js';
import type { ClientEvents, ClientState, LivePushOptions } from './types.js';
import { Code, decode, encode, FLAG_ACK_REQUIRED, num, readValue, writeData } from './wire.js';

/** KICK reasons after which the client connects again; any other reason ends the session. */
const RECONNECT_AFTER_KICK = new Set(['draining', 'heartbeat_timeout', 'slow', 'token_expired']);
/** LOGIN refusals worth retrying later (with backoff); any other one is final. */
const RETRY_LOGIN = new Set<number>([
  ServerCodes.RATE_LIMITED,
  ServerCodes.LOGIN_RATE_LIMITED,
  ServerCodes.GUEST_LIMIT,
  ServerCodes.BUSY,
  ServerCodes.UNAVAILABLE,
]);
const ACK_BATCH_MS = 10;
const MAX_ACK_IDS = 256; // server.max_ack_ids

interface Pending {
  frame: string;
  sent: boolean;
  timer: ReturnType<typeof setTimeout>;
  resolve: (body: any) => void;
  reject: (e: LivePushError) => void;
  onResult?: ((body: any) => void) | undefined;
}

type Timer = ReturnType<typeof setTimeout> | undefined;

export class LivePush extends Emitter<ClientEvents> implements RoomHost {
  state: ClientState = 'disconnected';
  /** The user id from LOGIN_RESULT (a guest's is assigned by the server). */
  userId = '';
  nodeId = '';
  role = '';
  readonly likeBatchMs: number;

  private readonly opts: Required<
    Pick<LivePushOptions, 'platform' | 'minReconnectDelay' | 'maxReconnectDelay' | 'timeout'>
  > &
    LivePushOptions;
  private token: string | undefined;
  private ws: any = null;
  private gen = 0; // bumped whenever a socket is abandoned: its late events are ignored
  private wanted = false; // connect() called and no disconnect() or final refusal since
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly rooms = new Map<string, Room>();
  private readonly seen: RecentIds;
  private attempt = 0;
  private reconnectTimer: Timer;
  private loginTimer: Timer;
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private pongTimer: Timer;
  private heartbeatMs = 30000;
  private ackIds: string[] = [];
  private ackTimer: Timer;
  private redirect: string | null = null;
  private kick: { reason: string; reconnectTo?: string } | null = null;
  private tokenRefreshed = false;
  private readyWaiters: { resolve: () => void; reject: (e: LivePushError) => void }[] = [];
  private readonly onOnline = () => {
    if (this.wanted && this.state !== 'connected' && this.reconnectTimer !== undefined) {
      this.attempt = 0;
      void this.open();
    }
  };

  constructor(
    readonly url: string,
    opts: LivePushOptions = {},
  ) {
    super();
    this.opts = {
      platform: 'web',
      minReconnectDelay: 500,
      maxReconnectDelay: 20000,
      timeout: 5000,
      ...opts,
    };
    this.token = opts.token;
    this.likeBatchMs = opts.likeBatchMs ?? 200;
    this.seen = new RecentIds(opts.dedupeSize ?? 2048);
  }

  // ------------------------------------------------------------------ public API

  connect(): void {
    if (this.wanted) return;
    if (!(this.opts.WebSocket ?? (globalThis as any).WebSocket))
      throw new Error('livepush-client: no WebSocket here; pass opts.WebSocket (the ws package in Node)');
    this.wanted = true;
    this.attempt = 0;
    const g = globalThis as any;
    if (typeof g.addEventListener === 'function') g.addEventListener('online', this.onOnline);
    void this.open();
  }

  disconnect(): void {
    if (!this.wanted && this.state === 'disconnected') return;
    this.flushAcks();
    if (this.ws && this.state === 'connected') this.sendRaw(encode(Code.LOGOUT, this.nextSeq()));
    this.terminate(1000, 'client disconnect', ClientCodes.CLIENT_DISCONNECTED);
  }

  /** Resolves once connected (at once if connected); rejects after timeoutMs or a final end. */
  ready(timeoutMs = this.opts.timeout): Promise<void> {
    if (this.state === 'connected') return Promise.resolve();
    if (!this.wanted)
      return Promise.reject(new LivePushError(ClientCodes.CLIENT_DISCONNECTED, 'not connecting'));
    return new Promise((resolve, reject) => {
      const w = {
        resolve: () => {
          clearTimeout(t);
          resolve();
        },
        reject: (e: LivePushError) => {
          clearTimeout(t);
          reject(e);
        },
      };
      const t = setTimeout(() => {
        this.readyWaiters = this.readyWaiters.filter((x) => x !== w);
        reject(new LivePushError(ClientCodes.TIMEOUT, `not connected within ${timeoutMs} ms`));
      }, timeoutMs);
      this.readyWaiters.push(w);
    });
  }

  /** Sends a BIZ packet of any type; resolves with the result's data. */
  async send(type: string, data?: unknown): Promise<any> {
    let body: any;
    await this.call(type, data, (b) => (body = b));
    return readValue(body, 'data') ?? {};
  }

  /** A private message (qos1, stored while the target is offline). */
  async im(to: string | number, payload: unknown): Promise<{ msgId: string; [k: string]: any }> {
    let body: any;
    await this.call('im.send', { to: String(to), payload }, (b) => (body = b));
    return { ...(readValue(body, 'data') ?? {}), msgId: String(body.msgId ?? '') };
  }

  /** The Room object for roomId (one per id; enter() it to join). */
  room(roomId: string | number): Room {
    const id = String(roomId);
    let r = this.rooms.get(id);
    if (!r) {
      r = new Room(this, id);
      this.rooms.set(id, r);
    }
    return r;
  }

  // ------------------------------------------------------------------ RoomHost

  /** A BIZ request: resolves with the Result body (onResult sees it first, synchronously). */
  call(type: string, data: unknown, onResult?: (body: any) => void): Promise<any> {
    const body: Record<string, unknown> = { type };
    writeData(body, data);
    return this.request(Code.BIZ, body, type, onResult);
  }

  reportError(code: number, message: string): void {
    this.emit('error', { code, message });
  }

  // ------------------------------------------------------------------ connection

  private async open(): Promise<void> {
    this.clearTimer('reconnectTimer');
    const gen = ++this.gen;
    this.setState('connecting');
    if (this.token === undefined && this.opts.getToken) {
      try {
        this.token = await this.opts.getToken();
      } catch (e) {
        if (gen !== this.gen) return;
        this.reportError(ClientCodes.BAD_RESPONSE, `getToken failed: ${(e as Error)?.message ?? e}`);
        this.scheduleReconnect();
        return;
      }
      if (gen !== this.gen || !this.wanted) return;
    }
    const url = this.redirect ?? this.url;
    this.redirect = null;
    const Ctor = this.opts.WebSocket ?? (globalThis as any).WebSocket;
    let ws: any;
    try {
      ws = new Ctor(url);
    } catch (e) {
      this.reportError(ClientCodes.CONNECTION_LOST, `cannot open ${url}: ${(e as Error)?.message}`);
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    this.kick = null;
    // Connecting and logging in share one deadline: a silent network must not hang us.
    this.loginTimer = setTimeout(() => {
      if (gen === this.gen) this.lost(4000, 'connect or login timed out');
    }, this.opts.timeout);
    ws.onopen = () => {
      if (gen === this.gen) this.login();
    };
    ws.onmessage = (ev: { data: unknown }) => {
      if (gen === this.gen && typeof ev.data === 'string') this.onText(ev.data);
    };
    ws.onclose = (ev: { code?: number; reason?: string }) => {
      if (gen === this.gen) this.lost(ev?.code ?? 1006, ev?.reason || 'connection closed');
    };
    ws.onerror = () => {
      // The close that follows says what happened.
    };
  }

  private login(): void {
    const body: Record<string, unknown> = { token: this.token ?? '', platform: this.opts.platform };
    if (this.opts.deviceId) body.deviceId = this.opts.deviceId;
    // Its outcomes are handled where they happen: success in onLoginResult, a refusal in
    // onLoginRefused (from settle), silence by the connect-and-login deadline.
    this.request(Code.LOGIN, body, 'login', (b) => this.onLoginResult(b), true).catch(() => {});
  }

  private onLoginResult(b: any): void {
    this.clearTimer('loginTimer');
    this.userId = String(b.userId ?? '');
    this.nodeId = String(b.nodeId ?? '');
    this.role = String(b.role ?? '');
    this.heartbeatMs = num(b.heartbeatIntervalMs) || 30000;
    this.attempt = 0;
    this.tokenRefreshed = false;
    this.setState('connected');
    this.startHeartbeat();
    // Rooms first, then what was asked while offline: the server handles them in order.
    for (const r of this.rooms.values()) if (r.canRejoin) this.rejoin(r);
    for (const p of this.pending.values())
      if (!p.sent) {
        p.sent = true;
        this.sendRaw(p.frame);
      }
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const w of waiters) w.resolve();
    this.emit('connected', { userId: this.userId, nodeId: this.nodeId, role: this.role });
  }

  private onLoginRefused(code: number, message: string): void {
    this.clearTimer('loginTimer');
    this.reportError(code, message);
    if (code === ServerCodes.TOKEN_EXPIRED && this.opts.getToken) {
      this.token = undefined;
      // At once the first time; again (a getToken handing out stale tokens) with backoff.
      const delay = this.tokenRefreshed ? undefined : 0;
      this.tokenRefreshed = true;
      this.abandon();
      this.retry(code, message, delay);
    } else if (RETRY_LOGIN.has(code)) {
      this.abandon();
      this.retry(code, message);
    } else {
      this.terminate(code, message, code);
    }
  }

  private rejoin(r: Room): void {
    r.join(true).catch((e: unknown) => {
      if (!(e instanceof LivePushError)) return;
      if (e.code === ServerCodes.ROOM_BANNED || e.code === ServerCodes.NOT_ALLOWED) {
        r.refused(e.code === ServerCodes.ROOM_BANNED ? 'banned' : 'refused');
      } else if (e.code !== ClientCodes.CONNECTION_LOST && e.code !== ClientCodes.CLIENT_DISCONNECTED) {
        this.reportError(e.code, `re-entering room ${r.id}: ${e.message}`);
        setTimeout(() => {
          if (this.state === 'connected' && r.canRejoin && !r.isJoined) this.rejoin(r);
        }, backoffDelay(0, this.opts.minReconnectDelay, this.opts.maxReconnectDelay));
      }
    });
  }

  // ------------------------------------------------------------------ frames in

  private onText(text: string): void {
    if (this.opts.debug) console.debug('livepush <', text);
    const env = decode(text);
    if (!env) {
      this.reportError(ClientCodes.BAD_RESPONSE, 'a text message that is not an envelope');
      return;
    }
    const body = env.body ?? {};
    switch (env.code) {
      case Code.PUSH:
        this.onPush(body, ((env.flags ?? 0) & FLAG_ACK_REQUIRED) !== 0);
        return;
      case Code.PONG:
        this.clearTimer('pongTimer');
        return;
      case Code.KICK:
        this.onKick(String(body.reason ?? ''), body.reconnectTo ? String(body.reconnectTo) : '');
        return;
      case Code.ERROR:
        this.settle(env.seq ?? 0, body, Code.ERROR);
        this.reportError(num(body.code), String(body.message ?? 'error'));
        return;
      case Code.LOGIN_RESULT:
      case Code.BIZ_RESULT:
      case Code.LOGOUT_RESULT:
        this.settle(env.seq ?? 0, body, env.code);
        return;
    }
  }

  private settle(seq: number, body: any, code: number): void {
    const p = this.pending.get(seq);
    if (!p) return;
    this.pending.delete(seq);
    clearTimeout(p.timer);
    const rc = num(body.code);
    if (rc === 0 && code !== Code.ERROR) {
      p.onResult?.(body);
      p.resolve(body);
      return;
    }
    const data = readValue(body, 'data');
    const err = new LivePushError(rc, String(body.message ?? `refused (${rc})`), data);
    if (code === Code.LOGIN_RESULT) this.onLoginRefused(rc, err.message);
    p.reject(err);
  }

  private onPush(body: any, qos1: boolean): void {
    const msgId = String(body.msgId ?? '');
    if (qos1) {
      this.queueAck(msgId); // acked even when a duplicate: its first ack may have been lost
      if (!this.seen.add(msgId)) return;
    }
    const roomId = body.roomId ? String(body.roomId) : '';
    const room =
      this.rooms.get(roomId) ??
      (body.type === 'room.banned' ? this.rooms.get(String(body.payload?.room_id)) : undefined);
    if (room && (roomId || body.type === 'room.banned')) {
      room.handlePush(body);
      return;
    }
    const ev: ClientEvents['push'] = {
      msgId,
      type: String(body.type ?? ''),
      payload: readValue(body, 'payload'),
      qos: qos1 ? 1 : 0,
    };
    if (roomId) ev.roomId = roomId;
    if (body.sentAtMs) ev.sentAtMs = num(body.sentAtMs);
    this.emit('push', ev);
  }

  private onKick(reason: string, reconnectTo: string): void {
    this.kick = reconnectTo ? { reason, reconnectTo } : { reason };
    this.emit('kicked', this.kick);
    if (reason === 'token_expired') this.token = undefined;
    if (reason === 'draining' && reconnectTo) this.redirect = this.redirectUrl(reconnectTo);
    // The server closes next; close our side too so the outcome does not wait on it.
    this.lost(4001, `kicked: ${reason}`);
  }

  /**
   * reconnectTo is a ws:// or wss:// URL (what a node sends a WebSocket session: its
   * cluster.advertise_ws), used as given; or host:port (a TCP address, or an older node's),
   * which replaces the configured URL's, keeping its scheme and path. Anything else is ignored:
   * the configured URL is used.
   */
  private redirectUrl(to: string): string {
    if (/^wss?:\/\//i.test(to)) {
      try {
        new URL(to); // throws when it is not a URL
        return to;
      } catch {
        return this.url;
      }
    }
    if (!/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(to)) return this.url;
    try {
      const u = new URL(this.url);
      u.host = to;
      return u.toString();
    } catch {
      return this.url;
    }
  }

  // ------------------------------------------------------------------ frames out

  private nextSeq(): number {
    this.seq = (this.seq % 0x7fffffff) + 1;
    return this.seq;
  }

  private sendRaw(frame: string): void {
    if (this.opts.debug) console.debug('livepush >', frame);
    try {
      this.ws?.send(frame);
    } catch {
      // A socket closing under us: its close event follows.
    }
  }

  private request(
    code: number,
    body: unknown,
    what: string,
    onResult?: (body: any) => void,
    now = false,
  ): Promise<any> {
    if (!this.wanted)
      return Promise.reject(new LivePushError(ClientCodes.CLIENT_DISCONNECTED, `${what}: not connected`));
    return new Promise((resolve, reject) => {
      const seq = this.nextSeq();
      const p: Pending = {
        frame: encode(code, seq, body),
        sent: false,
        resolve,
        reject,
        onResult,
        timer: setTimeout(() => {
          this.pending.delete(seq);
          reject(new LivePushError(ClientCodes.TIMEOUT, `${what}: no answer within ${this.opts.timeout} ms`));
        }, this.opts.timeout),
      };
      this.pending.set(seq, p);
      if (now || this.state === 'connected') {
        p.sent = true;
        this.sendRaw(p.frame);
      }
    });
  }

  private queueAck(msgId: string): void {
    this.ackIds.push(msgId);
    if (this.ackIds.length >= MAX_ACK_IDS) this.flushAcks();
    else if (this.ackTimer === undefined) this.ackTimer = setTimeout(() => this.flushAcks(), ACK_BATCH_MS);
  }

  private flushAcks(): void {
    this.clearTimer('ackTimer');
    while (this.ackIds.length && this.state === 'connected') {
      const ids = this.ackIds.splice(0, MAX_ACK_IDS);
      this.sendRaw(encode(Code.ACK, this.nextSeq(), { msgIds: ids }));
    }
    this.ackIds = []; // unsent acks: the server resends, and the duplicate is acked then
  }

  private startHeartbeat(): void {
    this.stopHeartbeat();
    const gen = this.gen;
    this.heartbeatTimer = setInterval(() => {
      if (gen !== this.gen) return;
      this.sendRaw(encode(Code.HEARTBEAT, this.nextSeq()));
      if (this.pongTimer === undefined)
        this.pongTimer = setTimeout(() => {
          this.pongTimer = undefined;
          if (gen === this.gen) this.lost(4002, 'no PONG: connection dead');
        }, Math.min(this.opts.timeout, this.heartbeatMs));
    }, this.heartbeatMs);
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer !== undefined) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    this.clearTimer('pongTimer');
  }

  // ------------------------------------------------------------------ endings

  /** Stops using the current socket: its late events are ignored from now on. */
  private abandon(): void {
    ++this.gen;
    this.stopHeartbeat();
    this.clearTimer('loginTimer');
    this.clearTimer('ackTimer');
    this.ackIds = [];
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = null;
      // Kept, as a no-op: the ws package emits 'error' when a socket still connecting is
      // closed, and an 'error' without a listener would throw in Node.
      ws.onerror = () => {};
      try {
        ws.close(1000);
      } catch {
        // already closed
      }
    }
    for (const r of this.rooms.values()) r.connectionLost();
    for (const [seq, p] of this.pending)
      if (p.sent) {
        this.pending.delete(seq);
        clearTimeout(p.timer);
        p.reject(new LivePushError(ClientCodes.CONNECTION_LOST, 'connection lost before the answer'));
      }
  }

  /** The connection ended (closed, dead, kicked): reconnect or stop, by why. */
  private lost(code: number, reason: string): void {
    const kick = this.kick;
    this.abandon();
    if (!this.wanted) return;
    if (kick && !RECONNECT_AFTER_KICK.has(kick.reason)) {
      this.terminate(code, `kicked: ${kick.reason}`, code);
      return;
    }
    this.retry(code, reason);
  }

  private retry(code: number, reason: string, delay?: number): void {
    if (!this.wanted) return;
    this.setState('connecting', code, reason);
    this.scheduleReconnect(delay);
  }

  private scheduleReconnect(delay?: number): void {
    this.clearTimer('reconnectTimer');
    const d =
      delay ?? backoffDelay(this.attempt++, this.opts.minReconnectDelay, this.opts.maxReconnectDelay);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.open();
    }, d);
  }

  /** Ends for good (disconnect(), a final refusal, a kick not to come back from). */
  private terminate(code: number, reason: string, errorCode: number): void {
    this.wanted = false;
    this.abandon();
    this.clearTimer('reconnectTimer');
    const g = globalThis as any;
    if (typeof g.removeEventListener === 'function') g.removeEventListener('online', this.onOnline);
    for (const [seq, p] of this.pending) {
      this.pending.delete(seq);
      clearTimeout(p.timer);
      p.reject(new LivePushError(errorCode, reason));
    }
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const w of waiters) w.reject(new LivePushError(errorCode, reason));
    this.setState('disconnected', code, reason);
    this.emit('disconnected', { code, reason });
  }

  private setState(s: ClientState, code?: number, reason?: string): void {
    if (s === this.state) return;
    const ev: ClientEvents['state'] = { oldState: this.state, newState: s };
    if (code !== undefined) ev.code = code;
    if (reason !== undefined) ev.reason = reason;
    this.state = s;
    this.emit('state', ev);
  }

  private clearTimer(k: 'reconnectTimer' | 'loginTimer' | 'pongTimer' | 'ackTimer'): void {
    const t = this[k];
    if (t !== undefined) clearTimeout(t);
    this[k] = undefined;
  }
}
