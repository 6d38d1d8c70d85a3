// The public API of issue 15 as a consumer writes it, type-checked (npm run typecheck) against
// the declarations: renaming or retyping any of these names fails the build. Never run.
import LivePush, { LivePush as Named, LivePushError, type ClientState, type EnterResult } from '../../src/index.js';

export async function useTheApi(): Promise<void> {
  const client: Named = new LivePush('wss://x/ws', {
    token: 't',
    getToken: async () => 't2',
    platform: 'web',
    deviceId: 'd',
    minReconnectDelay: 500,
    maxReconnectDelay: 20000,
    timeout: 5000,
    WebSocket: undefined,
    debug: false,
  });
  client.connect();
  await client.ready(1000);
  const state: ClientState = client.state;
  const user: string = client.userId;
  client.on('state', ({ oldState, newState }) => void [oldState, newState, state, user]);
  client.on('connected', ({ userId, nodeId }) => void [userId, nodeId]);
  client.on('disconnected', ({ code, reason }) => void [code, reason]);
  client.on('push', ({ msgId, type, payload, qos }) => void [msgId, type, payload, qos]);
  client.on('kicked', ({ reason, reconnectTo }) => void [reason, reconnectTo]);
  const onError = ({ code, message }: { code: number; message: string }) => void [code, message];
  client.on('error', onError);
  client.off('error', onError);
  const data: any = await client.send('pk.invite', { to: 2 });
  const { msgId }: { msgId: string } = await client.im('2', { text: 'hi' });
  const room = client.room(1001);
  const r: EnterResult = await room.enter();
  const { online, roomSeq, state: snapshot, recovered } = r;
  await room.leave();
  const sent: { roomSeq: number } = await room.chat('hello');
  room.like();
  room.like(5);
  room.on('message', ({ type, payload, roomSeq: s, msgId: m, from, profile }) => void [type, payload, s, m, from, profile]);
  room.on('state', ({ key, value, version }) => void [key, value, version]);
  room.on('online', ({ count }) => void count);
  room.on('likes', ({ total, delta }) => void [total, delta]);
  room.on('reset', ({ state: st }) => void st);
  room.on('entered', () => undefined);
  room.on('left', ({ reason }) => void reason);
  const last: number = room.lastSeq;
  const value: unknown = room.state['pk']?.value;
  const version: number | undefined = room.state['pk']?.version;
  client.disconnect();
  const e = new LivePushError(3003, 'not in room');
  const code: number = e.code;
  void [data, msgId, online, roomSeq, snapshot, recovered, sent, last, value, version, code];
}
