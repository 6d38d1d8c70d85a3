// The operator console (docs/console.md). Served by livepushd at /console/ on the API listener;
// the pages are public code, and every call they make carries the API key, which the operator
// enters once and which stays in this tab's sessionStorage (gone when the tab closes).
//
// What it shows: GET /v1/console/overview (nodes, sessions by transport, top rooms by members),
// a user lookup (GET /v1/users/{id}: online, node, rooms, inbox size) with kick, mute and ban
// (POST /v1/users/{id}/kick, /v1/rooms/{room}/mute, /ban), and live charts drawn with uPlot
// from /metrics, scraped every few seconds and parsed here: deliveries/s, logins/s, send-queue
// bytes, slow-consumer kicks and the API's p99 latency (from the histogram's buckets between two
// scrapes). ?interval=MS sets the scrape period (default 2000, at least 250).
import uPlot from 'uplot';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;
const KEY_STORE = 'livepush.apiKey';
const HISTORY = 90; // points per chart
const interval = Math.max(250, Number(new URLSearchParams(location.search).get('interval')) || 2000);

let apiKey = sessionStorage.getItem(KEY_STORE) ?? '';
let timers: ReturnType<typeof setInterval>[] = [];

class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

async function api(path: string, init: RequestInit = {}): Promise<any> {
  const headers: Record<string, string> = { Authorization: `Bearer ${apiKey}` };
  if (init.body) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, { ...init, headers, cache: 'no-store' });
  const text = await res.text();
  if (!res.ok) {
    let message = text;
    try {
      message = JSON.parse(text).error ?? text;
    } catch {
      /* not JSON: keep the text */
    }
    throw new ApiError(res.status, `${res.status}: ${message}`);
  }
  return path === '/metrics' ? text : JSON.parse(text);
}

function fillTable(id: string, rows: (string | number)[][]): void {
  const body = $(id).querySelector('tbody')!;
  body.replaceChildren(
    ...rows.map((r) => {
      const tr = document.createElement('tr');
      for (const c of r) {
        const td = document.createElement('td');
        td.textContent = String(c);
        tr.append(td);
      }
      return tr;
    }),
  );
}

async function refreshOverview(): Promise<void> {
  const o = await api('/v1/console/overview?top=10');
  $('node-name').textContent = `node ${o.node} (${o.mode})`;
  fillTable('nodes', o.nodes.map((n: any) => [n.id, n.address]));
  fillTable('sessions', Object.entries(o.sessions).map(([k, v]) => [k, v as number]));
  fillTable('top-rooms', o.top_rooms.map((r: any) => [r.room_id, r.members]));
  $('logged-in').textContent = String(o.logged_in);
  $('online-users').textContent = String(o.online_users);
}

// ---- /metrics: Prometheus text to numbers

type Samples = Map<string, number>; // 'name{labels}' (labels as printed) -> value

export function parseProm(text: string): Samples {
  const out: Samples = new Map();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    if (sp < 0) continue;
    const v = Number(line.slice(sp + 1));
    if (!Number.isNaN(v)) out.set(line.slice(0, sp), v);
  }
  return out;
}

// Sum of every series of `name` whose labels contain `has` (e.g. 'result="ok"').
function sum(s: Samples, name: string, has = ''): number {
  let total = 0;
  for (const [k, v] of s) {
    const base = k.includes('{') ? k.slice(0, k.indexOf('{')) : k;
    if (base === name && k.includes(has)) total += v;
  }
  return total;
}

// The q-quantile of the observations between two scrapes of a histogram (linear within a
// bucket, as Prometheus's histogram_quantile), in the histogram's unit; null with none.
function quantileBetween(prev: Samples, cur: Samples, name: string, q: number): number | null {
  const buckets: { le: number; n: number }[] = [];
  for (const [k, v] of cur) {
    if (!k.startsWith(`${name}_bucket{`)) continue;
    const m = /le="([^"]+)"/.exec(k);
    if (!m) continue;
    buckets.push({ le: m[1] === '+Inf' ? Infinity : Number(m[1]), n: v - (prev.get(k) ?? 0) });
  }
  buckets.sort((a, b) => a.le - b.le);
  const total = buckets.length ? buckets[buckets.length - 1].n : 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const b of buckets) {
    if (b.n >= rank) {
      if (b.le === Infinity) return lower;
      const inBucket = b.n - below;
      return inBucket > 0 ? lower + ((b.le - lower) * (rank - below)) / inBucket : b.le;
    }
    lower = b.le;
    below = b.n;
  }
  return lower;
}

interface Chart {
  title: string;
  unit: string;
  value: (prev: Samples, cur: Samples, seconds: number) => number | null;
  plot?: uPlot;
  data: [number[], (number | null)[]];
  box?: HTMLElement;
}

const rate = (name: string, has = '') => (p: Samples, c: Samples, s: number) => Math.max(0, sum(c, name, has) - sum(p, name, has)) / s;

const charts: Chart[] = [
  { title: 'Deliveries/s', unit: '/s', value: rate('livepush_deliveries_total'), data: [[], []] },
  { title: 'Logins/s', unit: '/s', value: rate('livepush_logins_total', 'result="ok"'), data: [[], []] },
  { title: 'Send-queue bytes', unit: 'B', value: (_p, c) => sum(c, 'livepush_send_queue_bytes'), data: [[], []] },
  {
    title: 'Slow-consumer kicks (per scrape)',
    unit: '',
    value: (p, c) => Math.max(0, sum(c, 'livepush_slow_consumer_kicks_total') - sum(p, 'livepush_slow_consumer_kicks_total')),
    data: [[], []],
  },
  {
    title: 'API p99 (ms)',
    unit: 'ms',
    value: (p, c) => {
      const s = quantileBetween(p, c, 'livepush_api_request_duration_seconds', 0.99);
      return s === null ? null : s * 1000;
    },
    data: [[], []],
  },
];

function makeCharts(): void {
  const host = $('charts');
  host.replaceChildren();
  // All boxes first, then the plots: a grid sizes its columns by how many boxes it holds.
  for (const [i, ch] of charts.entries()) {
    const box = document.createElement('div');
    box.className = 'chart';
    box.id = `chart-${i}`;
    box.dataset.testid = 'chart';
    box.dataset.title = ch.title;
    box.dataset.points = '0';
    const h = document.createElement('h3');
    h.textContent = ch.title;
    box.append(h);
    host.append(box);
    ch.box = box;
    ch.data = [[], []];
  }
  for (const ch of charts) {
    ch.plot = new uPlot(
      {
        width: Math.max(300, ch.box!.clientWidth - 16),
        height: 160,
        legend: { show: false },
        scales: { x: { time: true } },
        series: [{}, { label: ch.title, stroke: '#3366cc', width: 2, fill: 'rgba(51,102,204,0.1)', spanGaps: true }],
        axes: [{}, { size: 60 }],
      },
      ch.data as uPlot.AlignedData,
      ch.box!,
    );
  }
}

let last: { at: number; samples: Samples } | undefined;
async function scrape(): Promise<void> {
  const samples = parseProm(await api('/metrics'));
  const at = Date.now() / 1000;
  if (last) {
    const seconds = Math.max(0.001, at - last.at);
    for (const ch of charts) {
      ch.data[0].push(at);
      ch.data[1].push(ch.value(last.samples, samples, seconds));
      if (ch.data[0].length > HISTORY) {
        ch.data[0].shift();
        ch.data[1].shift();
      }
      ch.plot?.setData(ch.data as uPlot.AlignedData);
      if (ch.box) ch.box.dataset.points = String(ch.data[0].length);
    }
  }
  last = { at, samples };
}

// ---- the user panel

let shownUser = '';
async function lookup(id: string): Promise<void> {
  const u = await api(`/v1/users/${encodeURIComponent(id)}`);
  shownUser = u.user_id;
  const rooms = new Set<string>();
  for (const s of u.sessions) for (const r of s.rooms) rooms.add(r);
  $('user-online').textContent = u.online ? 'yes' : 'no';
  $('user-node').textContent = u.node || '-';
  $('user-rooms').textContent = rooms.size ? [...rooms].join(', ') : '-';
  $('user-inbox').textContent = String(u.inbox);
  $('user-sessions').textContent = u.sessions.length
    ? u.sessions.map((s: any) => `${s.session_id} ${s.platform} ${s.transport}${s.scene ? ` scene=${s.scene}` : ''}`).join('; ')
    : '-';
  $('user-result').hidden = false;
  $('user-actions').hidden = false;
  if (rooms.size && !$<HTMLInputElement>('action-room').value) $<HTMLInputElement>('action-room').value = [...rooms][0];
}

function showResult(text: string, error = false): void {
  $('action-result').textContent = text;
  $('action-result').className = error ? 'result error' : 'result';
}

async function act(what: string, path: string, body: unknown): Promise<void> {
  try {
    const r = await api(path, { method: 'POST', body: JSON.stringify(body) });
    showResult(`${what}: ${JSON.stringify(r)}`);
    if (shownUser) await lookup(shownUser);
  } catch (e) {
    showResult(`${what}: ${(e as Error).message}`, true);
  }
}

function wireUserPanel(): void {
  $('lookup').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const id = $<HTMLInputElement>('user-id').value.trim();
    if (!id) return;
    try {
      showResult('');
      await lookup(id);
    } catch (e) {
      showResult((e as Error).message, true);
    }
  });
  $('kick').addEventListener('click', () => act('kick', `/v1/users/${shownUser}/kick`, { reason: 'admin' }));
  for (const action of ['mute', 'ban']) {
    $(action).addEventListener('click', () => {
      const room = $<HTMLInputElement>('action-room').value.trim();
      if (!room) return showResult(`${action}: give a room`, true);
      const duration_s = Number($<HTMLInputElement>('action-duration').value) || 0;
      act(action, `/v1/rooms/${encodeURIComponent(room)}/${action}`, { user_id: shownUser, duration_s });
    });
  }
}

// ---- signing in with the key

async function open(): Promise<void> {
  $('login-error').textContent = '';
  try {
    await refreshOverview();
  } catch (e) {
    $('login-error').textContent = e instanceof ApiError && e.status === 401 ? 'wrong API key' : (e as Error).message;
    sessionStorage.removeItem(KEY_STORE);
    return;
  }
  sessionStorage.setItem(KEY_STORE, apiKey);
  $('login').hidden = true;
  $('main').hidden = false;
  $('logout').hidden = false;
  makeCharts();
  const guard = (f: () => Promise<void>) => () =>
    f().then(
      () => ($('status').textContent = `updated ${new Date().toLocaleTimeString()}`),
      (e) => ($('status').textContent = `error: ${(e as Error).message}`),
    );
  timers.push(setInterval(guard(refreshOverview), Math.max(interval, 2000)));
  timers.push(setInterval(guard(scrape), interval));
  await guard(scrape)();
  document.body.dataset.ready = 'true';
}

$('login').addEventListener('submit', (ev) => {
  ev.preventDefault();
  apiKey = $<HTMLInputElement>('api-key').value.trim();
  void open();
});
$('logout').addEventListener('click', () => {
  sessionStorage.removeItem(KEY_STORE);
  apiKey = '';
  for (const t of timers) clearInterval(t);
  timers = [];
  location.reload();
});
wireUserPanel();
if (apiKey) void open();
