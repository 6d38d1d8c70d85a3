// The SDK's public types: options, events and results. The names are fixed by issue 15 (tests
// and the demo page outside the SDK depend on them); docs/sdk.md describes each one.

export type ClientState = 'disconnected' | 'connecting' | 'connected';

export interface LivePushOptions {
  /** A JWT. Without one (and without getToken) the client logs in as a guest. */
  token?: string;
  /** Called when there is no token, or the server refused the token as expired (2002). */
  getToken?: () => Promise<string>;
  /** One of the server's auth.platforms; one session per (user, platform). Default 'web'. */
  platform?: string;
  deviceId?: string;
  /** Reconnect delay bounds in ms (full-jitter exponential backoff). Defaults 500 and 20000. */
  minReconnectDelay?: number;
  maxReconnectDelay?: number;
  /** Every request's timeout in ms (login, BIZ, heartbeat's PONG). Default 5000. */
  timeout?: number;
  /** A WebSocket constructor: the `ws` package's in Node; the global one by default. */
  WebSocket?: any;
  /** Log every frame with console.debug. */
  debug?: boolean;
  /** room.like() gathers clicks this long (ms) before one request. Default 200. */
  likeBatchMs?: number;
  /** How many qos1 msgIds are remembered to drop duplicates. Default 2048. */
  dedupeSize?: number;
}

export interface StateEvent {
  oldState: ClientState;
  newState: ClientState;
  /** Why a connection ended, when that caused the change. */
  code?: number;
  reason?: string;
}
export interface ConnectedEvent {
  userId: string;
  nodeId: string;
  role?: string;
}
export interface DisconnectedEvent {
  code: number;
  reason: string;
}
export interface PushEvent {
  msgId: string;
  type: string;
  /** The payload's JSON value; a Uint8Array when the bytes were not JSON. */
  payload: any;
  qos: 0 | 1;
  /** Set on a room push for a room this client has no Room object for. */
  roomId?: string;
  sentAtMs?: number;
}
export interface KickedEvent {
  reason: string;
  reconnectTo?: string;
}
export interface ErrorEvent {
  code: number;
  message: string;
}

export interface ClientEvents {
  state: StateEvent;
  connected: ConnectedEvent;
  disconnected: DisconnectedEvent;
  push: PushEvent;
  kicked: KickedEvent;
  error: ErrorEvent;
}

export interface StateEntry {
  value: any;
  version: number;
}
export type RoomStateSnapshot = Record<string, StateEntry>;

export interface RoomMessage {
  type: string;
  payload: any;
  /** The room's sequence number; 0 for unsequenced pushes. */
  roomSeq: number;
  msgId: string;
  from?: string;
  profile?: any;
  sentAtMs?: number;
}
export interface RoomStateChange {
  key: string;
  /** null: the key was deleted. */
  value: any;
  version: number;
}

export interface RoomEvents {
  message: RoomMessage;
  state: RoomStateChange;
  online: { count: number };
  likes: { total: number; delta: number };
  reset: { state: RoomStateSnapshot };
  entered: { online: number; roomSeq: number; recovered: boolean };
  left: { reason: string };
}

export interface EnterResult {
  online: number;
  roomSeq: number;
  state: RoomStateSnapshot;
  /** True when the messages missed since lastSeq were all replayed (or none were missed). */
  recovered: boolean;
  likesTotal?: number;
}
