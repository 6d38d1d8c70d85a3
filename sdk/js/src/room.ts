// One live room as the client sees it: membership, the last room_seq processed (for recovery),
// the room's epoch and its state snapshot (key -> {value, version}). The client hands it every
// push for its room; the room turns them into events by push type:
//   room.state (sequenced)        -> 'state' {key, value, version}, kept in room.state
//   room.online (unsequenced)     -> 'online' {count}
//   room.likes (unsequenced)      -> 'likes' {total, delta}
//   room.banned (a user push)     -> 'left' {reason: 'banned'}
//   anything else (room.chat, gift effects, room.notice, business pushes) -> 'message'
// A sequenced push at or below lastSeq is a duplicate and dropped. A live push past lastSeq + 1
// is accepted: the server's viewer budget leaves gaps on purpose (docs/rooms.md), and loss only
// happens across a reconnect, which the re-enter with lastSeq repairs or reports as 'reset'.
// What it must never do: move lastSeq on an unsequenced push, or emit a message twice.

import { Emitter } from './emitter.js';
import { LivePushError, ServerCodes } from './errors.js';
import type {
  EnterResult,
  RoomEvents,
  RoomMessage,
  RoomStateSnapshot,
  StateEntry,
} from './types.js';
import { num, readValue } from './wire.js';

/** What the room needs from the client (kept narrow so the room is testable alone). */
export interface RoomHost {
  readonly state: string;
  call(type: string, data: unknown, onResult?: (body: any) => void): Promise<any>;
  reportError(code: number, message: string): void;
  likeBatchMs: number;
}

export class Room extends Emitter<RoomEvents> {
  readonly id: string;
  /** The last room_seq processed; re-entering with it replays what was missed. */
  lastSeq = 0;
  /** The room's state snapshot: key -> {value, version}. */
  state: RoomStateSnapshot = {};
  online = 0;
  /** True between enter() and leave() (also while reconnecting). */
  entered = false;
  private epoch = '';
  private joined = false; // the server has this session in the room now
  private likesPending = 0;
  private likeTimer: ReturnType<typeof setTimeout> | undefined;
  private entering: Promise<EnterResult> | undefined;

  constructor(
    private readonly host: RoomHost,
    id: string | number,
  ) {
    super();
    this.id = String(id);
  }

  /**
   * Enters the room. While entered, a second call answers the current view; while the client
   * is reconnecting it re-enters with recovery (the client does that by itself too; the
   * replay's duplicates are dropped by room_seq).
   */
  enter(): Promise<EnterResult> {
    if (this.entering) return this.entering;
    if (this.entered && this.joined)
      return Promise.resolve({ online: this.online, roomSeq: this.lastSeq, state: this.state, recovered: true });
    const recover = this.entered && this.epoch !== '';
    if (!recover) {
      this.lastSeq = 0;
      this.epoch = '';
    }
    this.entered = true;
    const p = this.join(recover).then(
      (r) => {
        this.entering = undefined;
        return r;
      },
      (e: unknown) => {
        this.entering = undefined;
        if (!recover) this.entered = false;
        throw e;
      },
    );
    this.entering = p;
    return p;
  }

  async leave(): Promise<void> {
    const wasJoined = this.joined;
    this.entered = false;
    this.joined = false;
    this.dropLikes();
    if (wasJoined && this.host.state === 'connected') {
      try {
        await this.host.call('room.leave', { room_id: this.id });
      } catch (e) {
        // Not in the room on the server is what leave wants anyway.
        if (!(e instanceof LivePushError && e.code === ServerCodes.NOT_IN_ROOM)) throw e;
      }
    }
    this.emit('left', { reason: 'leave' });
  }

  async chat(text: string): Promise<{ roomSeq: number; msgId?: string; [k: string]: unknown }> {
    const { body, data } = await this.callFull('room.chat', { room_id: this.id, text });
    const out: { roomSeq: number; msgId?: string; [k: string]: unknown } = {
      ...data,
      roomSeq: num(data.room_seq),
    };
    if (body.msgId) out.msgId = body.msgId;
    return out;
  }

  /**
   * Adds `count` likes. Clicks are gathered for likeBatchMs and sent as one room.like (at most
   * 100 a request, the server's room.like_max_count); a rate refusal puts them back and waits
   * the retry_after_ms the server gives, so fast clicking never loses likes nor floods.
   */
  like(count = 1): void {
    if (!this.entered || !(count > 0)) return;
    this.likesPending += Math.floor(count);
    this.scheduleLikes(this.host.likeBatchMs);
  }

  // ------------------------------------------------------------------ called by the client

  /** (Re-)joins: the first time fresh, after a reconnect with lastSeq and epoch. */
  join(recover: boolean): Promise<EnterResult> {
    const data: Record<string, unknown> = { room_id: this.id };
    if (recover && this.epoch) {
      data.last_seq = this.lastSeq;
      data.epoch = this.epoch;
    }
    let result: EnterResult | undefined;
    // Applied synchronously as the result is read: the replayed pushes right behind it must
    // find lastSeq and the state already set.
    return this.host
      .call('room.enter', data, (body) => {
        result = this.applyEnter(readValue(body, 'data') ?? {}, recover && !!this.epoch);
      })
      .then(() => result!);
  }

  /** Entered once and not left: to be re-entered (with recovery) after a reconnect. */
  get canRejoin(): boolean {
    return this.entered && this.epoch !== '';
  }

  /** The server has this session in the room now. */
  get isJoined(): boolean {
    return this.joined;
  }

  /** The server refused the re-enter for good (banned). */
  refused(reason: string): void {
    this.entered = false;
    this.joined = false;
    this.dropLikes();
    this.emit('left', { reason });
  }

  /** The connection dropped: the server forgot the membership; enter() intent stays. */
  connectionLost(): void {
    this.joined = false;
  }

  /** A push for this room (roomId or, for room.banned, payload.room_id). */
  handlePush(body: any): void {
    const type: string = body.type ?? '';
    const payload = readValue(body, 'payload');
    const roomSeq = num(body.roomSeq);
    if (type === 'room.banned') {
      this.refused('banned');
      return;
    }
    if (!this.joined) return;
    if (roomSeq > 0) {
      if (roomSeq <= this.lastSeq) return; // a duplicate (replay overlap)
      this.lastSeq = roomSeq;
    }
    if (type === 'room.online' && roomSeq === 0) {
      this.online = num(payload?.count);
      this.emit('online', { count: this.online });
      return;
    }
    if (type === 'room.likes' && roomSeq === 0) {
      this.emit('likes', { total: num(payload?.total), delta: num(payload?.delta) });
      return;
    }
    if (type === 'room.state' && payload && typeof payload.key === 'string') {
      this.applyState(payload.key, payload.value, num(payload.version));
      return;
    }
    const msg: RoomMessage = { type, payload, roomSeq, msgId: body.msgId ?? '' };
    if (payload && typeof payload === 'object' && !(payload instanceof Uint8Array)) {
      if (typeof payload.from === 'string') msg.from = payload.from;
      if (payload.profile !== undefined) msg.profile = payload.profile;
    }
    if (body.sentAtMs) msg.sentAtMs = num(body.sentAtMs);
    this.emit('message', msg);
  }

  // ------------------------------------------------------------------ internals

  private applyEnter(d: any, recovering: boolean): EnterResult {
    const snapshot: RoomStateSnapshot = {};
    for (const [k, e] of Object.entries<any>(d.state ?? {}))
      snapshot[k] = { value: e?.value, version: num(e?.version) } as StateEntry;
    const roomSeq = num(d.room_seq);
    const recovered = recovering && d.recovered === true;
    this.epoch = String(d.epoch ?? '');
    this.online = num(d.online);
    this.joined = true;
    if (recovered) {
      // The replay that follows brings every change, room.state included, in order: keep the
      // local state and let it apply them (so 'state' fires for each change missed).
    } else {
      this.lastSeq = roomSeq;
      this.state = snapshot;
      if (recovering) this.emit('reset', { state: snapshot });
    }
    const out: EnterResult = {
      online: this.online,
      roomSeq,
      state: recovered ? this.state : snapshot,
      recovered,
    };
    if (d.likes_total !== undefined) out.likesTotal = num(d.likes_total);
    this.emit('entered', { online: this.online, roomSeq, recovered });
    return out;
  }

  private applyState(key: string, value: any, version: number): void {
    const have = this.state[key];
    if (have && version <= have.version) return; // an older change than the one kept
    if (value === null || value === undefined) {
      if (!have) return;
      delete this.state[key];
    } else {
      this.state[key] = { value, version };
    }
    this.emit('state', { key, value: value ?? null, version });
  }

  private async callFull(type: string, data: unknown): Promise<{ body: any; data: any }> {
    let body: any;
    await this.host.call(type, data, (b) => (body = b));
    return { body, data: readValue(body, 'data') ?? {} };
  }

  private scheduleLikes(ms: number): void {
    if (this.likeTimer !== undefined) return;
    this.likeTimer = setTimeout(() => {
      this.likeTimer = undefined;
      this.flushLikes();
    }, ms);
  }

  private flushLikes(): void {
    if (!this.entered || this.likesPending <= 0) return;
    if (this.host.state !== 'connected' || !this.joined) {
      this.scheduleLikes(Math.max(this.host.likeBatchMs, 500)); // kept for after the reconnect
      return;
    }
    const n = Math.min(this.likesPending, 100);
    this.likesPending -= n;
    this.host.call('room.like', { room_id: this.id, count: n }).then(
      () => {
        if (this.likesPending > 0) this.scheduleLikes(this.host.likeBatchMs);
      },
      (e: unknown) => {
        if (e instanceof LivePushError && e.code === ServerCodes.LIKE_RATE_LIMITED) {
          this.likesPending += n;
          this.scheduleLikes(num((e.data as any)?.retry_after_ms) || this.host.likeBatchMs);
        } else if (e instanceof LivePushError) {
          this.host.reportError(e.code, e.message);
        }
      },
    );
  }

  private dropLikes(): void {
    this.likesPending = 0;
    if (this.likeTimer !== undefined) clearTimeout(this.likeTimer);
    this.likeTimer = undefined;
  }
}
