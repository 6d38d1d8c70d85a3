// The live-room demo page (docs/console.md), built on livepush-client. Served by livepushd at
// /demo/ on its WebSocket listener with --dev, which also serves the two helper routes it uses:
// GET /demo/token (a short-lived token for the role and user in the page's query string) and
// POST /demo/gift (a gift event for the gift plugin, whose gift.effect comes back to the room).
//
// What it shows: danmaku across the stage (name, level and medal from the sender's profile), a
// chat box that shows refusals in place (muted, slow mode), likes summed by the server, gift
// buttons with an effect, the PK score bar from room state key "pk", the online count, and for
// an anchor or admin a moderation panel (room.mute, room.ban, room.mute_all, room.slow_mode).
// Every element a test reads has an id and a data-testid.
import { LivePush, LivePushError, ServerCodes } from '../../src/index';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;

const params = new URLSearchParams(location.search);
const role = ['viewer', 'anchor', 'admin'].includes(params.get('role') ?? '') ? params.get('role')! : 'viewer';
const user = params.get('user') ?? String(1000 + Math.floor(Math.random() * 9000));
const roomId = params.get('room') ?? '1';
const anchorId = params.get('anchor') ?? '1';
const name = params.get('name') ?? '';

// The demo's gifts: id, label, value (in the platform's units; 0.1 = one PK point).
const GIFTS = [
  { id: 1, label: 'Rose', value: '0.1' },
  { id: 2, label: 'Heart', value: '1' },
  { id: 3, label: 'Rocket', value: '100' },
  { id: 4, label: 'Castle', value: '1000' },
];
const giftLabel = (id: string | number): string => GIFTS.find((g) => String(g.id) === String(id))?.label ?? `gift ${id}`;

const codeNames: Record<number, string> = {};
for (const [k, v] of Object.entries(ServerCodes)) codeNames[v as number] = k;

async function fetchToken(): Promise<string> {
  const q = new URLSearchParams({ role, user, room: roomId });
  if (name) q.set('name', name);
  const res = await fetch(`/demo/token?${q}`, { cache: 'no-store' });
  const body = await res.json();
  if (!res.ok) throw new Error(body.error ?? `token: HTTP ${res.status}`);
  return body.token;
}

function el(tag: string, cls?: string, text?: string): HTMLElement {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

// Name, level and medal of a sender, as the profile claims give them (any may be missing).
function senderParts(from: string | undefined, profile: any): HTMLElement[] {
  const parts: HTMLElement[] = [];
  if (profile?.medal?.name) parts.push(el('span', 'medal', `${profile.medal.name} ${profile.medal.level ?? ''}`.trim()));
  if (profile?.level !== undefined) parts.push(el('span', 'lvl', `Lv${profile.level}`));
  parts.push(el('span', 'dm-name', profile?.name || `user ${from ?? '?'}`));
  return parts;
}

function logLine(cls: string, parts: (HTMLElement | string)[], testid: string): void {
  const li = el('li', cls);
  li.dataset.testid = testid;
  for (const p of parts) li.append(p);
  const log = $('chat-log');
  log.append(li);
  while (log.children.length > 200) log.firstElementChild?.remove();
  log.scrollTop = log.scrollHeight;
}

let lane = 0;
function danmaku(from: string | undefined, profile: any, text: string): void {
  const d = el('div', 'danmaku');
  d.dataset.testid = 'danmaku';
  d.append(...senderParts(from, profile), el('span', 'dm-text', text));
  d.style.top = `${12 + (lane++ % 8) * 34}px`;
  d.addEventListener('animationend', () => d.remove());
  $('stage').append(d);
}

let giftTimer: ReturnType<typeof setTimeout> | undefined;
function giftEffect(p: any): void {
  const box = $('gift-effect');
  const who = p.sender_id ? `user ${p.sender_id}` : 'someone';
  box.textContent = `${who} sent ${giftLabel(p.gift_id)} x${p.count ?? 1}`;
  box.className = `gift-effect ${p.effect?.level ?? 'normal'}`;
  box.dataset.giftId = String(p.gift_id);
  box.hidden = false;
  // Restart the animation for back-to-back gifts.
  box.style.animation = 'none';
  void box.offsetWidth;
  box.style.animation = '';
  clearTimeout(giftTimer);
  giftTimer = setTimeout(() => (box.hidden = true), 2600);
}

function renderPk(v: any): void {
  const box = $('pk');
  if (!v || typeof v !== 'object' || !v.scores) {
    box.hidden = true;
    return;
  }
  const anchors: string[] = Array.isArray(v.anchors) && v.anchors.length >= 2 ? v.anchors.map(String) : Object.keys(v.scores);
  const left = Number(v.scores[anchors[0]] ?? 0);
  const right = Number(v.scores[anchors[1]] ?? 0);
  $('pk-left-name').textContent = `anchor ${anchors[0] ?? '?'}`;
  $('pk-right-name').textContent = `anchor ${anchors[1] ?? '?'}`;
  $('pk-left-score').textContent = String(left);
  $('pk-right-score').textContent = String(right);
  const share = left + right > 0 ? (100 * left) / (left + right) : 50;
  $('pk-left').style.width = `${share.toFixed(1)}%`;
  $('pk-left').dataset.share = share.toFixed(1);
  const phases = ['invited', 'scoring', 'penalty', 'ended'];
  $('pk-phase').textContent = v.winner ? `winner: anchor ${v.winner}` : phases[Number(v.state)] ?? '';
  box.hidden = false;
}

let likesShown = 0;
function showLikes(total: number): void {
  if (total < likesShown) return; // totals only rise; a state write may trail a push
  likesShown = total;
  $('like-count').textContent = String(total);
}

function showOnline(n: number): void {
  $('online-count').textContent = String(n);
}

function refusalText(e: unknown): string {
  if (e instanceof LivePushError) return `${codeNames[e.code] ?? `code ${e.code}`}: ${e.message}`;
  return String((e as Error)?.message ?? e);
}

async function main(): Promise<void> {
  $('room-id').textContent = roomId;
  $('me').textContent = `${role} ${user}`;
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`;
  const client = new LivePush(url, { token: await fetchToken(), getToken: fetchToken, platform: 'web' });
  const room = client.room(roomId);

  client.on('state', ({ newState }) => {
    $('conn-state').textContent = newState;
    $('conn-state').className = `state ${newState}`;
  });
  client.on('kicked', ({ reason }) => logLine('system', [`kicked: ${reason}`], 'system-line'));

  room.on('message', (m) => {
    const p = m.payload ?? {};
    if (m.type === 'room.chat') {
      danmaku(m.from ?? p.from, m.profile ?? p.profile, String(p.text ?? ''));
      logLine('chat', [...senderParts(m.from ?? p.from, m.profile ?? p.profile), String(p.text ?? '')], 'chat-line');
    } else if (m.type === 'gift.effect') {
      giftEffect(p);
      logLine('gift', [`user ${p.sender_id} sent ${giftLabel(p.gift_id)} x${p.count}`], 'gift-line');
    } else if (m.type === 'room.notice') {
      const what = p.action === 'mute_all' ? `mute all ${p.on ? 'on' : 'off'}` : p.action === 'slow_mode' ? `slow mode ${p.interval_s}s` : `${p.action} user ${p.user_id}`;
      logLine('system', [`${what} (by ${p.by})`], 'system-line');
    } else if (m.type === 'pk.state' || m.type === 'pk.score') {
      renderPk(p);
    }
  });
  room.on('state', ({ key, value }) => {
    if (key === 'pk') renderPk(value);
    if (key === 'likes' && value !== null) showLikes(Number(value));
  });
  room.on('likes', ({ total }) => showLikes(total));
  room.on('online', ({ count }) => showOnline(count));
  const drawState = (state: Record<string, { value: any }>) => {
    renderPk(state.pk?.value);
    if (state.likes) showLikes(Number(state.likes.value));
  };
  room.on('reset', ({ state }) => drawState(state));
  room.on('entered', ({ online }) => showOnline(online));

  client.connect();
  await client.ready(10000);
  const entered = await room.enter();
  showOnline(entered.online);
  drawState(entered.state);
  if (entered.likesTotal !== undefined) showLikes(entered.likesTotal);

  $('chat-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const input = $<HTMLInputElement>('chat-input');
    const text = input.value.trim();
    if (!text) return;
    const refusal = $('chat-refusal');
    try {
      await room.chat(text);
      input.value = '';
      refusal.hidden = true;
      refusal.textContent = '';
    } catch (e) {
      refusal.textContent = refusalText(e);
      refusal.dataset.code = String((e as LivePushError).code ?? '');
      refusal.hidden = false;
    }
  });

  $('like').addEventListener('click', () => room.like(1));

  for (const g of GIFTS) {
    const b = el('button', 'gift', g.label) as HTMLButtonElement;
    b.type = 'button';
    b.dataset.testid = `gift-${g.id}`;
    b.addEventListener('click', async () => {
      const q = new URLSearchParams({ room: roomId, gift: String(g.id), count: '1', user, anchor: anchorId, value: g.value });
      // application/json: the node refuses the gift route to anything a cross-site form could send.
      const res = await fetch(`/demo/gift?${q}`, { method: 'POST', headers: { 'Content-Type': 'application/json' } });
      if (!res.ok) logLine('system', [`gift refused: ${(await res.json()).error}`], 'system-line');
    });
    $('gifts').append(b);
  }

  if (role === 'anchor' || role === 'admin') setupModeration(client, roomId);
  document.body.dataset.ready = 'true';
}

function setupModeration(client: LivePush, room: string): void {
  $('mod-panel').hidden = false;
  const result = $('mod-result');
  const act = async (type: string, data: Record<string, unknown>) => {
    try {
      await client.send(type, { room_id: room, ...data });
      result.className = 'mod-result';
      result.textContent = `${type} ok`;
    } catch (e) {
      result.className = 'mod-result error';
      result.textContent = `${type}: ${refusalText(e)}`;
    }
  };
  for (const b of Array.from(document.querySelectorAll<HTMLButtonElement>('#mod-panel [data-action]'))) {
    b.addEventListener('click', () => {
      const target = $<HTMLInputElement>('mod-user').value.trim();
      const duration = Number($<HTMLInputElement>('mod-duration').value) || 0;
      const action = b.dataset.action!;
      const withDuration = action === 'room.mute' || action === 'room.ban';
      act(action, withDuration ? { user_id: target, duration_s: duration } : { user_id: target });
    });
  }
  $<HTMLInputElement>('mod-mute-all').addEventListener('change', (ev) =>
    act('room.mute_all', { on: (ev.target as HTMLInputElement).checked }));
  $('mod-slow-set').addEventListener('click', () =>
    act('room.slow_mode', { interval_s: Number($<HTMLInputElement>('mod-slow').value) || 0 }));
}

main().catch((e) => {
  $('conn-state').textContent = `error: ${e?.message ?? e}`;
  document.body.dataset.ready = 'error';
});
