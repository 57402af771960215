/**
 * Recovery: with a short call every STREAM_MS, the simulator drops every socket and closes
 * its port for `downMs`; how long after the port accepts again the first live event reaches
 * era-events' output. Default client settings; a fresh Node-RED for each try, so that every
 * try starts from the same reconnect backoff.
 */
import { config, packageEnv } from '../config';
import { Child } from '../lib/rpc';
import { SimProcess } from '../lib/sim';

const STREAM_MS = 20;
const WAIT_MS = 60_000;

export interface RecoveryTrial {
  downMs: number;
  /** Measured on the BENCH_CANDIDATE build. */
  candidate: boolean;
  /** Port accepting again → first live event at the output; undefined when none came within WAIT_MS. */
  recoveryMs: number | undefined;
}

async function trial(sim: SimProcess, downMs: number, packageDir: string | undefined): Promise<RecoveryTrial> {
  const client = new Child('recovery.ts', { env: packageEnv(packageDir) });
  const candidate = packageDir !== undefined;
  try {
    await client.call('setup', { url: sim.url });
    await sim.subscribed(['callevents.*', 'ccsevents.']);
    await new Promise((r) => setTimeout(r, 500));
    const { upAt } = await sim.restart(downMs);
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const first = await client.call<number | null>('firstAfter', { t: upAt });
      if (first !== null) return { downMs, candidate, recoveryMs: first - upAt };
      if (Date.now() > deadline) return { downMs, candidate, recoveryMs: undefined };
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await client.stop();
  }
}

export async function recovery(): Promise<RecoveryTrial[]> {
  const sim = await SimProcess.start();
  const trials: RecoveryTrial[] = [];
  try {
    await sim.stream(STREAM_MS);
    for (const downMs of config.recoveryDownMs) {
      for (let k = 0; k < config.recoveryTrials; k++) {
        for (const packageDir of config.candidate ? [undefined, config.candidate] : [undefined]) {
          process.stderr.write(`recovery: simulator down ${downMs} ms, try ${k + 1}${packageDir ? ', candidate' : ''} ...\n`);
          trials.push(await trial(sim, downMs, packageDir));
        }
      }
    }
    return trials;
  } finally {
    await sim.stream(0);
    await sim.stop();
  }
}
