// The text envelope v1.1 (docs/protocol.md): one JSON envelope {code, seq, body, flags?} per
// WebSocket text message. BizReq.data, Result.data and Push.payload are JSON values; bytes that
// are not a JSON value travel as base64 in dataB64 / payloadB64. A missing field is its default
// (a successful Result has no "code"). 64-bit numbers come as decimal strings.

export const Code = {
  LOGIN: 1001,
  LOGOUT: 1002,
  BIZ: 1003,
  HEARTBEAT: 1004,
  ACK: 1005,
  LOGIN_RESULT: 2001,
  LOGOUT_RESULT: 2002,
  BIZ_RESULT: 2003,
  PONG: 2004,
  PUSH: 3001,
  KICK: 3002,
  ERROR: 3003,
} as const;

export const FLAG_ACK_REQUIRED = 1;

export interface Envelope {
  code: number;
  seq?: number;
  body?: any;
  flags?: number;
}

export function encode(code: number, seq: number, body?: unknown): string {
  return JSON.stringify(body === undefined ? { code, seq } : { code, seq, body });
}

/** The envelope, or null when the text is not one (the caller reports it). */
export function decode(text: string): Envelope | null {
  try {
    const v = JSON.parse(text);
    return v && typeof v === 'object' && typeof v.code === 'number' ? (v as Envelope) : null;
  } catch {
    return null;
  }
}

function fromBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function toBase64(bytes: Uint8Array): string {
  let bin = '';
  for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]!);
  return btoa(bin);
}

/** A body's data/payload: the JSON value, or the bytes when they came as base64. */
export function readValue(body: any, field: 'data' | 'payload'): any {
  const b64 = body[field + 'B64'];
  return typeof b64 === 'string' ? fromBase64(b64) : body[field];
}

/**
 * Puts `value` into a BizReq body: objects, arrays, numbers and booleans as themselves; a
 * string (a JSON string value) or a Uint8Array (raw bytes) as base64 in dataB64, since a string
 * in "data" means base64 (the v1.0 form).
 */
export function writeData(body: Record<string, unknown>, value: unknown): void {
  if (value === undefined || value === null) return;
  if (value instanceof Uint8Array) body.dataB64 = toBase64(value);
  else if (typeof value === 'string')
    body.dataB64 = toBase64(new TextEncoder().encode(JSON.stringify(value)));
  else body.data = value;
}

/** A 64-bit decimal string (or number) as a number; 0 when absent. */
export function num(v: unknown): number {
  return v === undefined || v === null || v === '' ? 0 : Number(v);
}
