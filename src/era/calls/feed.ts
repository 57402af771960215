/**
 * The call table's changes, fanned out to whoever builds on them (call logs, live figures). The
 * table has one observer; this is it while anyone listens, so a client with no consumer pays
 * nothing per event.
 */
import type { CallState } from '../types';
import type { CallTable, CallTableObserver, FinishedCall } from './table';

export class CallFeed implements CallTableObserver {
  private consumers: CallTableObserver[] = [];

  constructor(private readonly table: CallTable) {}

  get size(): number {
    return this.consumers.length;
  }

  add(consumer: CallTableObserver): void {
    // A new array, not a push: a change being fanned out keeps iterating the old one.
    this.consumers = [...this.consumers, consumer];
    this.table.observer = this;
  }

  remove(consumer: CallTableObserver): void {
    this.consumers = this.consumers.filter((c) => c !== consumer);
    if (this.consumers.length === 0) this.table.observer = undefined;
  }

  ended(finished: FinishedCall): void {
    const consumers = this.consumers;
    for (let i = 0; i < consumers.length; i++) consumers[i]!.ended(finished);
  }

  recorded(call: CallState): void {
    const consumers = this.consumers;
    for (let i = 0; i < consumers.length; i++) consumers[i]!.recorded(call);
  }

  stopped(call: CallState): void {
    const consumers = this.consumers;
    for (let i = 0; i < consumers.length; i++) consumers[i]!.stopped(call);
  }
}
