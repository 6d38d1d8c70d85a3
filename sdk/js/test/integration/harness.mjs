// The integration tests' harness: real livepushd nodes (the binary in $LIVEPUSHD) and a real
// redis-server on ports chosen at run time, tokens minted by `livepushd token`, the HTTP API, and
// a bounded wait. Every client made by newClient() is disconnected and every process started here is registered and killed by stopAll() (call it in
// an after() hook), and dies with the test runner too (each child is killed on process exit).
import { spawn, execFileSync } from 'node:child_process';
import { createServer, connect as tcpConnect } from 'node:net';
import { mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { LivePush } from '../../dist/esm/index.js';

export const LIVEPUSHD = process.env.LIVEPUSHD;
export const SECRET = 'sdk-integration-test-secret-0123456789abcdef';
export const CLUSTER_SECRET = 'sdk-integration-cluster-secret-0123456789abcd';
export const API_KEY = 'sdk-integration-api-key-0123456789';
const logDir = mkdtempSync(join(tmpdir(), 'livepush-sdk-it-'));
const children = new Set();
const clients = new Set();

/** A LivePush on the `ws` package, disconnected by stopAll() even when its test failed. */
export function newClient(url, opts = {}) {
  const c = new LivePush(url, { WebSocket, ...opts });
  clients.add(c);
  return c;
}
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

/** A free loopback port (bound, read, released). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls fn until it returns a truthy value (returned), or throws after timeoutMs. */
export async function eventually(fn, what, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await sleep(50);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last})`);
}

/** A token for `user` signed with SECRET, by `livepushd token`. */
export function token(user, ttlS = 3600) {
  return execFileSync(LIVEPUSHD, ['token', '--jwt-secret', SECRET, '--user', String(user), '--ttl', String(ttlS)], {
    encoding: 'utf8',
  }).trim();
}

function startProcess(name, cmd, args) {
  const log = join(logDir, `${name}.log`);
  const fd = openSync(log, 'a');
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', fd] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return { child, log };
}

export class Redis {
  async start() {
    this.port = await freePort();
    const { child } = startProcess(`redis-${this.port}`, 'redis-server', [
      '--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    ]);
    this.child = child;
    child.stdout.resume();
    await eventually(() => {
      try {
        return execFileSync('redis-cli', ['-p', String(this.port), 'ping'], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        }).includes('PONG');
      } catch {
        return false;
      }
    }, 'redis-server to answer');
    return this;
  }
  stop() {
    this.child?.kill('SIGKILL');
  }
}

/**
 * One livepushd. Ports are chosen once and kept, so stop() then start() is a restart on the
 * same addresses (clients reconnect to the same URL). opts: {redis, nodeId, extra: [...]}.
 */
export class Node {
  constructor(opts = {}) {
    this.opts = opts;
  }
  async start() {
    if (!LIVEPUSHD) throw new Error('set LIVEPUSHD to the livepushd binary');
    this.wsPort ??= await freePort();
    this.tcpPort ??= await freePort();
    this.apiPort ??= await freePort();
    this.linkPort ??= await freePort();
    const id = this.opts.nodeId ?? `sdk-${this.wsPort}`;
    const args = [
      '--jwt-secret', SECRET,
      '--tcp-listen', `127.0.0.1:${this.tcpPort}`,
      '--ws-listen', `127.0.0.1:${this.wsPort}`,
      '--api-listen', `127.0.0.1:${this.apiPort}`,
      '--api-key', API_KEY,
      '--node-id', id,
      '--trusted-proxies', '127.0.0.1',
      '--log-level', 'info',
    ];
    if (this.opts.redis) {
      // The defaults advertise the listen addresses: a draining node hands WebSocket clients
      // ws://127.0.0.1:<its wsPort>/ws as reconnect_to (cluster.advertise_ws).
      args.push('--redis', `127.0.0.1:${this.opts.redis.port}`, '--link-listen', `127.0.0.1:${this.linkPort}`,
        '--set', `cluster.secret=${CLUSTER_SECRET}`);
    }
    args.push(...(this.opts.extra ?? []));
    const { child, log } = startProcess(`livepushd-${id}`, LIVEPUSHD, args);
    this.child = child;
    this.log = log;
    this.nodeId = id;
    let out = '';
    await new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`livepushd did not become ready; log ${log}:\n${this.logText()}`)), 15000);
      child.stdout.on('data', (d) => {
        out += d;
        if (out.includes('livepushd ready')) {
          clearTimeout(t);
          resolve();
        }
      });
      child.on('exit', (code) => {
        clearTimeout(t);
        reject(new Error(`livepushd exited (${code}) before ready; log:\n${this.logText()}`));
      });
    });
    child.stdout.resume();
    return this;
  }
  get url() {
    return `ws://127.0.0.1:${this.wsPort}/ws`;
  }
  logText() {
    try {
      return readFileSync(this.log, 'utf8').slice(-4000);
    } catch {
      return '';
    }
  }
  /** Sends sig and waits for the exit (SIGKILL after timeoutMs). */
  async stop(sig = 'SIGTERM', timeoutMs = 15000) {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill(sig);
    const t = setTimeout(() => c.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(t);
  }
  /** The HTTP API: {status, body}. */
  async api(method, path, body) {
    const res = await fetch(`http://127.0.0.1:${this.apiPort}${path}`, {
      method,
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    return { status: res.status, body: json };
  }
}

export async function stopAll(...things) {
  for (const c of clients) c.disconnect();
  clients.clear();
  for (const t of things) if (t) await t.stop?.('SIGKILL');
  for (const c of children) c.kill('SIGKILL');
}

/**
 * A TCP proxy in front of a node: cut() drops every connection through it and refuses new ones
 * until restore(), the way a lost network looks to a client (and to the server); holdUp() first
 * swallows what clients send (their ACKs never reach the node) while the node's frames still
 * come through.
 */
export class Proxy {
  constructor(targetPort) {
    this.targetPort = targetPort;
    this.sockets = new Set();
    this.down = false;
    this.holding = false;
  }
  async start() {
    this.port = await freePort();
    this.server = createServer((c) => {
      if (this.down) return c.destroy();
      const up = tcpConnect(this.targetPort, '127.0.0.1');
      for (const s of [c, up]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => {});
      }
      c.on('data', (d) => {
        if (!this.holding) up.write(d);
      });
      up.on('data', (d) => c.write(d));
      c.on('close', () => up.destroy());
      up.on('close', () => c.destroy());
    });
    await new Promise((r) => this.server.listen(this.port, '127.0.0.1', r));
    return this;
  }
  get url() {
    return `ws://127.0.0.1:${this.port}/ws`;
  }
  holdUp() {
    this.holding = true;
  }
  cut() {
    this.down = true;
    this.holding = false;
    for (const s of this.sockets) s.destroy();
  }
  restore() {
    this.down = false;
  }
  async stop() {
    this.cut();
    await new Promise((r) => this.server.close(r));
  }
}
