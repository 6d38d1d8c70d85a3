// livepush-client: the entry point. `new LivePush(url, opts)` (default and named export), the
// typed error, the code tables and the public types. docs/sdk.md is the user's guide.
import { LivePush } from './client.js';

export { LivePush };
export { Room } from './room.js';
export { LivePushError, ClientCodes, ServerCodes } from './errors.js';
export { backoffDelay } from './backoff.js';
export type * from './types.js';
export default LivePush;
