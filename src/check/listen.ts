/**
 * The listen step: for a while, every push is described — its envelope (from the recorder) and,
 * for each event type the client decoded, the union of the field names seen with their JSON
 * types — and compared with what the documentation says of the event types it details.
 */
import type { EraEvent } from '../era';
import { judged, result, type CheckContext, type StepResult } from './context';
import { eventDifferences } from './documented';
import { FieldShapes, oneLine, shownName } from './shapes';

/** Event types kept; more are counted, not described. */
const TOPICS_KEPT = 100;

/** The shapes of the events the client delivered, by `<class>.<type>`. */
export class EventShapes {
  private readonly byTopic = new Map<string, FieldShapes>();
  private extraTopics = 0;

  readonly add = (ev: EraEvent): void => {
    let shapes = this.byTopic.get(ev.topic);
    if (shapes === undefined) {
      if (this.byTopic.size >= TOPICS_KEPT) {
        this.extraTopics++;
        return;
      }
      shapes = new FieldShapes();
      this.byTopic.set(ev.topic, shapes);
    }
    shapes.add(ev.payload);
  };

  get topics(): Array<[string, FieldShapes]> {
    return [...this.byTopic].sort(([a], [b]) => a.localeCompare(b));
  }

  get untracked(): number {
    return this.extraTopics;
  }
}

export function waitSeconds(seconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, seconds * 1000));
}

/** One more turn of the event loop, so that what was read at the end of the listening time is counted. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export async function listenStep(ctx: CheckContext, shapes: EventShapes, listenSeconds: number): Promise<StepResult> {
  await waitSeconds(listenSeconds);
  await nextTurn();
  const { envelopes } = ctx.recorder;
  const stats = ctx.client.stats;
  const lost = ctx.client.state !== 'connected';
  const lostLine = `the connection was lost while listening: ${ctx.scrub.words(ctx.client.stateDetail ?? ctx.client.state)}`;
  if (envelopes.total === 0) {
    return result('fail', `no event in ${listenSeconds} s: make a call during the check, or check the account's rights (which calls may it see?)`, lost ? [lostLine] : []);
  }
  const details = envelopes.lines().map((line) => `envelope: ${line}`);
  const { pushesWithQid, acknowledged } = ctx.recorder;
  details.push(pushesWithQid === 0 ? 'no push carried a qid (nothing to acknowledge)'
    : `${pushesWithQid} pushes carried a qid; the client acknowledged ${acknowledged === pushesWithQid ? 'all of them' : acknowledged}`);
  const differences: string[] = [];
  for (const [topic, fields] of shapes.topics) {
    details.push(`${shownName(topic)} ×${fields.count}: ${fields.describe()}`);
    differences.push(...eventDifferences(topic, fields).map(oneLine));
  }
  if (shapes.untracked > 0) details.push(`${shapes.untracked} events of more types, not described (more than ${TOPICS_KEPT} types)`);
  const undecodable = stats.undecodable;
  if (undecodable > 0) differences.push(`${undecodable} pushes the client could not decode (see the envelopes)`);
  for (const difference of differences) details.push(`differs: ${difference}`);
  if (lost) details.push(lostLine);
  const failed = stats.decoded === 0 || lost;
  const kinds = envelopes.kinds.length + (envelopes.malformed > 0 ? 1 : 0);
  const parts = [
    `${envelopes.total} pushes in ${listenSeconds} s`,
    stats.decoded === 0 ? 'none the client could decode' : `${shapes.topics.length} event types`,
    kinds === 1 ? 'one envelope' : `${kinds} envelopes`,
  ];
  if (differences.length > 0) parts.push(`${differences.length} difference${differences.length === 1 ? '' : 's'} from the documentation`);
  if (lost) parts.push('then the connection was lost');
  const summary = parts.join(', ');
  return result(judged(failed, differences), summary, details);
}
