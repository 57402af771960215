/**
 * Run as a child process by lifecycle.test.ts: uses a client fully (REST, socket, events,
 * a tracked call, a recording link), closes it, stops the simulator, and then simply ends.
 * If anything of the client were left (a socket, a timer), the process would not exit by
 * itself; the parent test waits for it to exit.
 */
import { EraClient } from '../../src/era';
import { startSimulator } from '../../src/simulator';

async function main(): Promise<void> {
  const sim = await startSimulator({ port: 0, dlgStopDelayMs: 0 });
  const client = new EraClient({
    url: sim.url,
    domain: 'demo.local',
    login: 'operator',
    password: 'operator',
    pingIntervalMs: 50,
    pingTimeoutMs: 50,
    reconnectMinMs: 10,
    reconnectMaxMs: 50,
  });
  let events = 0;
  client.listen({ events: ['callevents.*'], attachCall: true }, () => events++);
  await new Promise<void>((resolve) => client.on('state', (s) => s === 'connected' && resolve()));
  await new Promise((r) => setTimeout(r, 50));
  const dial = await client.command({ op: 'dial', from: '101', to: '+79990001122' });
  await client.command({ op: 'hangup', call: dial.connectionId! });
  await sim.restart({ downMs: 100 });
  await new Promise((r) => setTimeout(r, 300));
  await client.close();
  await sim.stop();
  // Unreferenced: only shows what is left if the process does not end by itself.
  setTimeout(() => {
    process.stderr.write(`still running, events=${events}: ${JSON.stringify(process.getActiveResourcesInfo())}\n`);
    process.exit(3);
  }, 4000).unref();
  process.stdout.write(`closed, events=${events}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(2);
});
