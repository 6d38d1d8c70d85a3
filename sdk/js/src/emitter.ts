// A minimal typed event emitter (no dependency on Node's or the DOM's). A handler that throws
// does not stop the others nor the SDK: the exception is reported on the next tick, where the
// host (browser console, Node's uncaught handler) shows it.

type Handler<T> = (ev: T) => void;

export class Emitter<Events extends { [K in keyof Events]: unknown }> {
  private handlers: { [K in keyof Events]?: Handler<Events[K]>[] } = {};

  on<K extends keyof Events>(event: K, fn: Handler<Events[K]>): this {
    (this.handlers[event] ??= []).push(fn);
    return this;
  }

  off<K extends keyof Events>(event: K, fn?: Handler<Events[K]>): this {
    const list = this.handlers[event];
    if (!list) return this;
    if (!fn) delete this.handlers[event];
    else this.handlers[event] = list.filter((h) => h !== fn);
    return this;
  }

  protected emit<K extends keyof Events>(event: K, ev: Events[K]): void {
    const list = this.handlers[event];
    if (!list) return;
    for (const fn of list.slice()) {
      try {
        fn(ev);
      } catch (e) {
        setTimeout(() => {
          throw e;
        }, 0);
      }
    }
  }
}
