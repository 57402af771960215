/**
 * Background calls for the demo: a new call every interval, of the kinds an office sees
 * (answered and unanswered inbound, to one phone, a ring group or a queue; outbound,
 * transferred, recorded, internal), with DTMF and holds now and then. Durations are those of real calls at the default rate (a call every
 * ~2 s) and shrink with a faster rate, so the number of calls in progress stays about the same.
 */
import type { CallModel, CallRecord } from './calls';
import { SimError } from './errors';
import { extension, pick, randomInt, russianMobile } from './ids';

export const DEFAULT_TRAFFIC_INTERVAL_MS = 2000;

type Scenario = (t: TrafficGenerator) => void;

export class TrafficGenerator {
  private timer: NodeJS.Timeout | undefined;
  private readonly scale: number;

  constructor(
    readonly calls: CallModel,
    private readonly intervalMs: number,
  ) {
    this.scale = intervalMs / DEFAULT_TRAFFIC_INTERVAL_MS;
  }

  start(): void {
    if (this.timer) return;
    this.spawn();
    this.timer = setInterval(() => this.spawn(), this.intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Run `step` on the call after `seconds` (scaled), unless it ended meanwhile; a step that no
   * longer fits (someone held or transferred the call through the API) is skipped.
   */
  later(call: CallRecord, seconds: number, step: (call: CallRecord) => void): void {
    this.calls.timers.after(seconds * 1000 * this.scale, () => {
      if (!this.calls.isActive(call)) return;
      try {
        step(call);
      } catch (err) {
        if (!(err instanceof SimError)) throw err;
      }
    });
  }

  private spawn(): void {
    let roll = Math.random() * TOTAL_WEIGHT;
    for (const [weight, scenario] of SCENARIOS) {
      roll -= weight;
      if (roll < 0) {
        scenario(this);
        return;
      }
    }
  }
}

/** Talk for a while, maybe press keys or hold, then hang up. */
function conversation(t: TrafficGenerator, call: CallRecord, talkSeconds: number): void {
  if (Math.random() < 0.3) t.later(call, randomInt(1, 3), (c) => t.calls.dtmf(c, dtmfDigits(), 'a', 'a'));
  if (Math.random() < 0.2) {
    const holdAt = randomInt(3, 5);
    t.later(call, holdAt, (c) => t.calls.notify(c, 'hold'));
    t.later(call, holdAt + randomInt(2, 5), (c) => t.calls.notify(c, 'talk'));
  }
  t.later(call, talkSeconds, (c) => t.calls.hangup(c, 'bye'));
}

function answered(t: TrafficGenerator, call: CallRecord, ringSeconds: number, talkSeconds: number): void {
  t.later(call, ringSeconds, (c) => {
    t.calls.answer(c);
    conversation(t, c, talkSeconds);
  });
}

const inboundAnswered: Scenario = (t) =>
  answered(t, t.calls.start({ from: russianMobile(), to: extension(), dir: 'in' }), randomInt(2, 6), randomInt(6, 20));

const inboundUnanswered: Scenario = (t) => {
  const call = t.calls.start({ from: russianMobile(), to: extension(), dir: 'in' });
  t.later(call, randomInt(6, 15), (c) => t.calls.hangup(c, pick(['cancel', 'timeout'])));
};

const outbound: Scenario = (t) =>
  answered(t, t.calls.start({ from: extension(), to: russianMobile(), dir: 'out' }), randomInt(3, 8), randomInt(5, 15));

const transferred: Scenario = (t) => {
  const call = t.calls.start({ from: russianMobile(), to: extension(), dir: 'in' });
  t.later(call, randomInt(2, 4), (c) => {
    t.calls.answer(c);
    t.later(c, randomInt(3, 6), (d) => {
      t.calls.refer(d, otherExtension(d.tonum));
      conversation(t, d, randomInt(5, 10));
    });
  });
};

/** Ring groups and queues have numbers of their own; their phones are the office's extensions. */
const RING_GROUPS = ['200', '201', '202'];
const QUEUES = ['300', '301'];

/** A ring group: its phones ring at once; a random one answers. */
const groupAnswered: Scenario = (t) => {
  const group = extensions(randomInt(2, 4));
  const call = t.calls.start({ from: russianMobile(), to: pick(RING_GROUPS), dir: 'in', group });
  t.later(call, randomInt(3, 8), (c) => {
    t.calls.answer(c, pick(group));
    conversation(t, c, randomInt(6, 20));
  });
};

/** Nobody in the group answers: the caller gives up, or the platform does. */
const groupUnanswered: Scenario = (t) => {
  const call = t.calls.start({ from: russianMobile(), to: pick(RING_GROUPS), dir: 'in', group: extensions(randomInt(2, 4)) });
  t.later(call, randomInt(8, 20), (c) => t.calls.hangup(c, pick(['cancel', 'timeout'])));
};

/** A queue rings its phones in turn until one answers. */
const queueAnswered: Scenario = (t) => {
  const queue = extensions(randomInt(2, 4));
  const call = t.calls.start({ from: russianMobile(), to: pick(QUEUES), dir: 'in', queue });
  const answerer = randomInt(1, queue.length);
  t.later(call, huntThrough(t, call, answerer) + randomInt(2, 4), (c) => {
    t.calls.answer(c, queue[answerer - 1]);
    conversation(t, c, randomInt(6, 20));
  });
};

/** The caller gives up while a queue's phone rings, or (half the time) between two phones. */
const queueUnanswered: Scenario = (t) => {
  const queue = extensions(randomInt(2, 4));
  const call = t.calls.start({ from: russianMobile(), to: pick(QUEUES), dir: 'in', queue });
  const tried = randomInt(1, queue.length);
  let at = huntThrough(t, call, tried) + randomInt(3, 6);
  if (tried < queue.length && Math.random() < 0.5) {
    t.later(call, at, (c) => t.calls.nextPhone(c, false));
    at += 1;
  }
  t.later(call, at, (c) => t.calls.hangup(c, 'cancel'));
};

/** The queue moves on to its next phone every few seconds until `phones` of them rang; returns when the last one started (s). */
function huntThrough(t: TrafficGenerator, call: CallRecord, phones: number): number {
  let at = 0;
  for (let i = 1; i < phones; i++) {
    at += randomInt(4, 6);
    t.later(call, at, (c) => t.calls.nextPhone(c));
  }
  return at;
}

const recorded: Scenario = (t) =>
  answered(t, t.calls.start({ from: russianMobile(), to: extension(), dir: 'in', record: true }), randomInt(2, 5), randomInt(6, 15));

const internal: Scenario = (t) => {
  const from = extension();
  answered(t, t.calls.start({ from, to: otherExtension(from), dir: 'local' }), randomInt(1, 4), randomInt(3, 8));
};

/** Inbound calls keep their 45%: 31 answered, 14 not, spread over one phone, ring groups and queues. */
const SCENARIOS: ReadonlyArray<readonly [number, Scenario]> = [
  [20, inboundAnswered],
  [10, inboundUnanswered],
  [6, groupAnswered],
  [2, groupUnanswered],
  [5, queueAnswered],
  [2, queueUnanswered],
  [20, outbound],
  [15, transferred],
  [15, recorded],
  [5, internal],
];
const TOTAL_WEIGHT = SCENARIOS.reduce((sum, [weight]) => sum + weight, 0);

/** `count` different extensions. */
function extensions(count: number): string[] {
  const picked = new Set<string>();
  while (picked.size < count) picked.add(extension());
  return [...picked];
}

function otherExtension(not: string): string {
  for (;;) {
    const ext = extension();
    if (ext !== not) return ext;
  }
}

function dtmfDigits(): string {
  let digits = '';
  for (let i = randomInt(1, 4); i > 0; i--) digits += pick([...'0123456789*#']);
  return digits;
}
