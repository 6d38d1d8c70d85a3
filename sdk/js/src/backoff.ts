// Reconnect delays and the qos1 duplicate filter: the two small policies of the client, kept
// apart so unit tests pin them without a socket.

/**
 * Full-jitter exponential backoff, bounded: attempt n (0-based) waits
 * min + random * min(max, min * 2^n), never more than max. The jitter spreads the reconnects
 * of many clients cut off together (a node restart, a drain) over the whole window.
 */
export function backoffDelay(
  attempt: number,
  min: number,
  max: number,
  random: () => number = Math.random,
): number {
  const window = Math.min(max, min * Math.pow(2, Math.min(attempt, 30)));
  return Math.min(max, Math.floor(min + random() * window));
}

/**
 * The msgIds seen, at most `capacity` of them: the oldest are forgotten first. A qos1 message
 * comes again only while it is unacked (resends within seconds, the inbox after a reconnect),
 * so the recent ids are the ones that matter and memory stays bounded.
 */
export class RecentIds {
  private readonly ids = new Set<string>();

  constructor(readonly capacity = 2048) {}

  /** True if id was new (and is now remembered), false for a duplicate. */
  add(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.capacity) {
      // A Set iterates in insertion order: the first one is the oldest.
      const oldest = this.ids.values().next().value as string;
      this.ids.delete(oldest);
    }
    return true;
  }

  get size(): number {
    return this.ids.size;
  }
}
