import type { NodeStatus } from './red';
import type { StatusView } from './status';

/**
 * What an era-webhook shows: how its registration goes; over it, a risk that needs fixing (no
 * secret: a yellow ring naming it) or a conflict with another route on its path (red); and a
 * fault that stops the node, shown for good.
 */
export class WebhookStatus {
  private base: NodeStatus = {};
  private conflict: string | undefined;
  private stopped = false;

  /** `noSecret`: the words that name the missing secret, or undefined when one is set. */
  constructor(
    private readonly view: StatusView,
    private readonly noSecret: string | undefined,
  ) {}

  /** The node cannot work: this stays. */
  fail(text: string): void {
    this.stopped = true;
    this.view.show({ fill: 'red', shape: 'dot', text });
  }

  show(status: NodeStatus): void {
    this.base = status;
    this.render();
  }

  /** Another route answers the node's path (undefined: no more). */
  conflicting(text: string | undefined): void {
    this.conflict = text;
    this.render();
  }

  private render(): void {
    if (this.stopped) return;
    if (this.conflict !== undefined) return this.view.show({ fill: 'red', shape: 'dot', text: this.conflict });
    const { fill, text } = this.base;
    if (this.noSecret === undefined) return this.view.show(this.base);
    this.view.show({ fill: fill === 'red' ? 'red' : 'yellow', shape: 'ring', text: text === undefined || text === '' ? this.noSecret : `${this.noSecret} · ${text}` });
  }
}
