/**
 * Run as a child process by close.test.ts: Node-RED with a busy flow of every kind of node
 * (events flowing, actions hanging in flight, waits pending, era-calls polling), stopped in
 * the middle, then the simulator stopped too. The process must then end by itself: a timer,
 * socket or listener of ours left behind would keep it alive.
 */
import { helper, load, serverNode, startRed } from '../support/red';
import { simulator } from '../support/sim';
import { busyFlow, startBusy } from './close-flow';

async function main(): Promise<void> {
  const { sim } = await simulator({ dlgStopDelayMs: 0 });
  await startRed();
  await load(busyFlow(serverNode(sim)));
  const busy = await startBusy(sim);
  await helper.unload();
  await new Promise<void>((resolve) => helper.stopServer(resolve));
  busy.stop();
  await sim.stop();
  // Unreferenced: only shows what is left if the process does not end by itself.
  setTimeout(() => {
    process.stderr.write(`still running: ${JSON.stringify(process.getActiveResourcesInfo())}\n`);
    process.exit(3);
  }, 4000).unref();
  process.stdout.write(`stopped, events=${busy.events()}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(2);
});
