/**
 * The push envelopes of era-platform.md §4. An event's data is serialised once; each push is
 * then `head + qid + ',"id":' + subscription id + tail`, two short concatenations per
 * delivery, which is what lets one socket carry tens of thousands of events a second.
 */
import type { Envelope, SimEvent } from './types';

export interface PushFrame {
  head: string;
  tail: string;
}

export function pushFrame(envelope: Envelope, event: SimEvent): PushFrame {
  const data = JSON.stringify(event.data);
  // The data's fields without its braces, for the envelopes that inline them.
  const fields = data.length > 2 ? `,${data.slice(1, -1)}` : '';
  const cls = JSON.stringify(event.class);
  const type = JSON.stringify(event.type);
  switch (envelope) {
    case 'model':
      return { head: '["event",{"qid":', tail: `,"class":${cls},"type":${type},"data":${data}}]` };
    case 'flat':
      return { head: '["event",{"qid":', tail: `,"eventclass":${cls},"eventtype":${type}${fields}}]` };
    case 'method':
      return { head: `[${JSON.stringify(`${event.class}.${event.type}`)},{"qid":`, tail: `${fields}}]` };
  }
}
