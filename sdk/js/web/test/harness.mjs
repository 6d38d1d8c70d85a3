// The browser tests' harness: a real livepushd --dev (binary from $LIVEPUSHD, else the build
// tree's) on free loopback ports serving the built pages (dist/, via server.web_root), and
// Debian's Chromium driven by playwright-core (no browser download). Pages are loaded over HTTP
// from the node itself: Chromium does not let file:, data: or about:blank pages reach loopback.
// Everything started here is stopped by stop()/close(), and bounded in time.
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const webDir = path.resolve(here, '..');
const repoRoot = path.resolve(webDir, '../../..');
export const DEV_API_KEY = 'livepush-dev-api-key';

export const artifactsDir = process.env.WEB_TEST_ARTIFACTS || path.join(webDir, 'test-artifacts');

export async function startNode(extraArgs = []) {
  const bin = process.env.LIVEPUSHD || path.join(repoRoot, 'build/app/livepushd');
  const args = [
    '--dev',
    '--tcp-listen', '127.0.0.1:0', '--ws-listen', '127.0.0.1:0', '--api-listen', '127.0.0.1:0',
    '--web-root', path.join(webDir, 'dist'),
    // Fast room.online and room.likes pushes, so the pages update within the tests' waits.
    '--set', 'room.online_interval_ms=300', '--set', 'room.likes_interval_ms=200',
    ...extraArgs,
  ];
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d) => (log += d));
  const ready = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`livepushd not ready in 15 s:\n${log}`)), 15000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /livepushd ready .* ws=([\d.]+):(\d+) api=([\d.]+):(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ ws: Number(m[2]), api: Number(m[4]) });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`livepushd exited ${code}:\n${log}`));
    });
  });
  return {
    ...ready,
    demoUrl: (q) => `http://127.0.0.1:${ready.ws}/demo/?${q}`,
    consoleUrl: (q = '') => `http://127.0.0.1:${ready.api}/console/${q ? `?${q}` : ''}`,
    log: () => log,
    async api(method, p, body) {
      const res = await fetch(`http://127.0.0.1:${ready.api}${p}`, {
        method,
        headers: { Authorization: `Bearer ${DEV_API_KEY}`, 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
      return JSON.parse(text);
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 10000);
      await exited;
      clearTimeout(t);
    },
  };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox'],
    headless: true,
  });
}

// A page that fails the test on any console error or uncaught exception of the page itself.
export async function openPage(browser, url, errors) {
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => errors.push(`${url}: ${e.message}`));
  page.on('console', (m) => {
    // A refused request (the console's wrong-key try) is logged by Chromium itself: not a bug.
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource'))
      errors.push(`${url}: console: ${m.text()}`);
  });
  await page.goto(url);
  return page;
}

export async function screenshot(page, name) {
  mkdirSync(artifactsDir, { recursive: true });
  await page.screenshot({ path: path.join(artifactsDir, `${name}.png`), fullPage: true });
}
