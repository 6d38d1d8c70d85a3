// The SDK's one error type. Every rejected request and every 'error' event carries a numeric
// `code`: the server's own codes (proto/livepush.proto ErrorCode, docs/protocol.md) for what the
// server refused, and the small client codes below (1..99, which the server never uses) for what
// happened on this side: a timeout, a lost connection, a disconnect() while waiting.

/** Codes the SDK itself produces (the server's codes start at 1001). */
export const ClientCodes = {
  TIMEOUT: 1,
  CONNECTION_LOST: 2,
  CLIENT_DISCONNECTED: 3,
  BAD_RESPONSE: 4,
} as const;

/** The server's codes a client meets most (the full list: docs/protocol.md). */
export const ServerCodes = {
  NOT_LOGGED_IN: 1006,
  RATE_LIMITED: 1012,
  BAD_PLATFORM: 1013,
  LOGIN_RATE_LIMITED: 1014,
  TOKEN_INVALID: 2001,
  TOKEN_EXPIRED: 2002,
  TOKEN_NO_SUBJECT: 2003,
  GUEST_LIMIT: 2008,
  UNKNOWN_BIZ_TYPE: 3001,
  BAD_BIZ_DATA: 3002,
  NOT_IN_ROOM: 3003,
  ROOM_LIMIT: 3004,
  BUSY: 3006,
  UNAVAILABLE: 3007,
  IM_RATE_LIMITED: 3008,
  NOT_ALLOWED: 3011,
  ROOM_MUTED: 3012,
  ROOM_BANNED: 3013,
  SLOW_MODE: 3014,
  ROOM_RATE_LIMITED: 3015,
  CHAT_REJECTED: 3016,
  LIKE_RATE_LIMITED: 3020,
  LIKE_COUNT_OUT_OF_RANGE: 3021,
  INTERNAL: 3999,
} as const;

export class LivePushError extends Error {
  /** A server code (1001..3999) or a client code (ClientCodes). */
  readonly code: number;
  /** The refusal's data, when the server sent some (e.g. {retry_after_ms}). */
  readonly data?: unknown;

  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.name = 'LivePushError';
    this.code = code;
    if (data !== undefined) this.data = data;
  }
}
