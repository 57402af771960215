/**
 * Run as a child process by one-process.test.ts: a client with Redis claims (argv[2]) delivers
 * claimed events while a second set of claims keeps trying a Redis that is not there (argv[3]);
 * both are closed, the simulator stopped, and the process simply ends. If a socket or timer of
 * the claims were left, it would not exit by itself; the parent waits for it to exit.
 */
import { RedisClaims } from '../../src/cluster/redis-claims';
import { clusterSettings } from '../../src/cluster/settings';
import { EraClient } from '../../src/era';
import { startSimulator } from '../../src/simulator';

function claims(redisUrl: string): RedisClaims {
  const settings = clusterSettings({ cluster: 'redis', redisUrl, clusterName: `exit-${process.pid}`, redisPassword: undefined, defaultName: '' })!;
  return new RedisClaims({ settings, logger: { log: () => undefined, warn: () => undefined }, health: () => undefined });
}

async function main(): Promise<void> {
  const [redisUrl, deadUrl] = process.argv.slice(2) as [string, string];
  const sim = await startSimulator({ port: 0, dlgStopDelayMs: 0 });
  const live = claims(redisUrl);
  const dead = claims(deadUrl);
  const client = new EraClient({ url: sim.url, authMode: 'token', token: 'demo-token', claims: live, reconnectMinMs: 10, reconnectMaxMs: 50 });
  let events = 0;
  client.listen({ events: ['callevents.*'], attachCall: true, exclusive: true }, () => events++);
  await new Promise<void>((resolve) => client.on('state', (s) => s === 'connected' && resolve()));
  await new Promise((r) => setTimeout(r, 100));
  const call = sim.startCall({ from: '+79990001122', to: '101', answer: true });
  sim.hangupCall(call.id);
  await dead.claim(['an-event']);
  await new Promise((r) => setTimeout(r, 700));
  await client.close();
  live.close();
  dead.close();
  await sim.stop();
  // Unreferenced: only shows what is left if the process does not end by itself.
  setTimeout(() => {
    process.stderr.write(`still running, events=${events}, dead=${dead.health}: ${JSON.stringify(process.getActiveResourcesInfo())}\n`);
    process.exit(3);
  }, 4000).unref();
  process.stdout.write(`closed, events=${events}, live=${live.health}, dead=${dead.health}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(2);
});
