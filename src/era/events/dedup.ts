/**
 * The dedup stage: the platform sends an event once per matching subscription (era-platform.md
 * §4), and a webhook copy and a socket copy of one event can both arrive. Each recent event id is
 * remembered together with the subscription groups it already reached, so the call table applies
 * an event once and every listener gets it once.
 *
 * Ids are kept in two generations of at most 5,000 each: between 5,000 and 10,000 of the latest
 * are remembered, O(1) per event. Dropping a whole generation instead of deleting the oldest id
 * one by one costs a hash map nothing per event, and deletions are what made a ring of 10,000
 * ids the dearest step of the event path.
 */
import type { Group } from './subscriptions';

const GENERATION = 5_000;

/** Which groups an event id reached: null for none yet, else one group or several. */
type Mark = Group | Group[] | null;

export class SeenEvents {
  private current = new Map<string, Mark>();
  private previous = new Map<string, Mark>();

  /**
   * True the first time `id` is seen. `group`: the one group it is known to go to (its envelope
   * named the subscription), marked as reached at once.
   */
  first(id: string, group: Group | null = null): boolean {
    if (this.current.has(id) || this.previous.has(id)) return false;
    this.remember(id, group);
    return true;
  }

  /** True the first time `id` reaches `group` (`id` went through first() before). */
  reach(id: string, group: Group): boolean {
    const mark = this.current.get(id) ?? this.previous.get(id) ?? null;
    if (mark === null) {
      this.remember(id, group);
      return true;
    }
    if (mark === group) return false;
    if (Array.isArray(mark)) {
      if (mark.includes(group)) return false;
      mark.push(group);
      return true;
    }
    this.remember(id, [mark, group]);
    return true;
  }

  private remember(id: string, mark: Mark): void {
    if (this.current.size >= GENERATION) {
      this.previous = this.current;
      this.current = new Map();
    }
    this.current.set(id, mark);
  }
}
