/**
 * Counts what a run produced and measures this process's CPU (user + system) and the wall
 * time from `arm()` to the target count; with BENCH_PROFILE=1 also profiles that window.
 */
import { startProfile, stopProfile } from './profile';

export interface Measured {
  count: number;
  /** CPU time of this process over the window, µs. */
  cpuUs: number;
  wallMs: number;
}

export function cpuSince(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return d.user + d.system;
}

export class Meter {
  private count = 0;
  private target = Infinity;
  private profile: string | undefined;
  private cpu0: NodeJS.CpuUsage = process.cpuUsage();
  private t0 = 0;
  private result: Measured | undefined;
  private waiter: ((m: Measured) => void) | undefined;

  /** Starts a window that ends when `target` hits have been counted, profiled as `profile` if named. */
  async arm(target: number, profile?: string): Promise<void> {
    this.count = 0;
    this.target = target;
    this.result = undefined;
    this.profile = profile;
    if (profile !== undefined) await startProfile();
    this.cpu0 = process.cpuUsage();
    this.t0 = performance.now();
  }

  hit(): void {
    if (++this.count !== this.target) return;
    this.result = { count: this.count, cpuUs: cpuSince(this.cpu0), wallMs: performance.now() - this.t0 };
    this.waiter?.(this.result);
  }

  /** The window's figures once the target is reached; rejects after `timeoutMs` saying how far it got. */
  async wait(timeoutMs: number): Promise<Measured> {
    const result = this.result ?? (await new Promise<Measured>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`only ${this.count} of ${this.target} after ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = (m) => {
        clearTimeout(timer);
        this.waiter = undefined;
        resolve(m);
      };
    }));
    if (this.profile !== undefined) await stopProfile(this.profile);
    return result;
  }
}
