/**
 * Run as a child process by one-process.test.ts, so that NODE_EXTRA_CA_CERTS (read only at
 * start) can name the test CA: claims over rediss:// (argv[2]); prints the health they reach
 * and what a claim answered, or why Redis is unreachable.
 */
import { RedisClaims, type ClusterHealth } from '../../src/cluster/redis-claims';
import { clusterSettings } from '../../src/cluster/settings';

async function main(): Promise<void> {
  const settings = clusterSettings({ cluster: 'redis', redisUrl: process.argv[2], clusterName: `tls-${process.pid}`, redisPassword: undefined, defaultName: '' })!;
  let reached: (health: ClusterHealth, detail?: string) => void = () => undefined;
  const health = new Promise<string>((resolve) => (reached = (h, d) => resolve(d === undefined ? h : `${h} (${d})`)));
  const claims = new RedisClaims({ settings, logger: { log: () => undefined, warn: () => undefined }, health: (h, d) => reached(h, d) });
  const first = await health;
  const won = await claims.claim(['an-event']);
  claims.close();
  process.stdout.write(`${first}; claim ${won}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(2);
});
