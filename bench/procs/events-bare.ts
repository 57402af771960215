/**
 * The event path's limit: a bare `ws` client on the token socket that subscribes like the
 * others and does nothing with a frame but JSON.parse it (and count the events).
 */
import WebSocket from 'ws';
import { CONNECT_FRAMES, TOKEN } from '../flows/events';
import { Meter } from '../lib/meter';
import { serve } from '../lib/rpc';

const meter = new Meter();
/** Size of the event frames received, to report what was measured. */
let frames = 0;
let bytes = 0;

serve({
  async setup(args: { url: string }) {
    const ws = new WebSocket(`${args.url.replace(/^http/, 'ws')}/ws/token/v1/${TOKEN}`, { perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    ws.on('message', (data: Buffer) => {
      const frame = JSON.parse(data.toString()) as unknown[];
      if (frame[0] !== 'event') return;
      frames++;
      bytes += data.length;
      meter.hit();
    });
    for (const frame of CONNECT_FRAMES) ws.send(frame);
  },
  arm: (args: { events: number; profile?: string }) => meter.arm(args.events, args.profile),
  wait: (args: { timeoutMs: number }) => meter.wait(args.timeoutMs),
  frameBytes: () => bytes / frames,
});
