/**
 * Background calls for the demo: a new call every interval, of the kinds an office sees
 * (answered and unanswered inbound, outbound, transferred, recorded, internal), with DTMF and
 * holds now and then. Durations are those of real calls at the default rate (a call every
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

const recorded: Scenario = (t) =>
  answered(t, t.calls.start({ from: russianMobile(), to: extension(), dir: 'in', record: true }), randomInt(2, 5), randomInt(6, 15));

const internal: Scenario = (t) => {
  const from = extension();
  answered(t, t.calls.start({ from, to: otherExtension(from), dir: 'local' }), randomInt(1, 4), randomInt(3, 8));
};

const SCENARIOS: ReadonlyArray<readonly [number, Scenario]> = [
  [30, inboundAnswered],
  [15, inboundUnanswered],
  [20, outbound],
  [15, transferred],
  [15, recorded],
  [5, internal],
];
const TOTAL_WEIGHT = SCENARIOS.reduce((sum, [weight]) => sum + weight, 0);

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
