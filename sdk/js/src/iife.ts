// The browser bundle's entry (dist/livepush.iife.js): the global `LivePush` is the class itself,
// so a page writes `new LivePush(url, opts)`; the error class and code tables hang off it.
import { LivePush } from './client.js';
import { ClientCodes, LivePushError, ServerCodes } from './errors.js';

(globalThis as any).LivePush = Object.assign(LivePush, { LivePushError, ClientCodes, ServerCodes });
