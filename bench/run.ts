/**
 * `npm run bench [-- events commands scale recovery webhooks cluster waits calllog stats]`: runs the scenarios named (all by
 * default), prints their tables and, after a full run, writes bench/RESULTS.md (a partial
 * run, or one with a BENCH_CANDIDATE, writes bench/out/RESULTS.partial.md instead). Sizes and
 * options: see config.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { config } from './config';
import { render, type Results } from './report';
import { commandPath } from './scenarios/commands';
import { eventPath } from './scenarios/events';
import { recovery } from './scenarios/recovery';
import { scale } from './scenarios/scale';
import { webhookPath } from './scenarios/webhooks';
import { clusterPath } from './scenarios/cluster';
import { waitsPath } from './scenarios/waits';
import { callLogPath } from './scenarios/calllog';
import { statsPath } from './scenarios/stats';

const SCENARIOS = {
  events: async (r: Results) => void (r.events = await eventPath()),
  commands: async (r: Results) => void (r.commands = await commandPath()),
  scale: async (r: Results) => void (r.scale = await scale()),
  recovery: async (r: Results) => void (r.recovery = await recovery()),
  webhooks: async (r: Results) => void (r.webhooks = await webhookPath()),
  cluster: async (r: Results) => void (r.cluster = await clusterPath()),
  waits: async (r: Results) => void (r.waits = await waitsPath()),
  calllog: async (r: Results) => void (r.calllog = await callLogPath()),
  stats: async (r: Results) => void (r.stats = await statsPath()),
};

type Name = keyof typeof SCENARIOS;

async function main(): Promise<void> {
  const asked = process.argv.slice(2);
  const unknown = asked.filter((a) => !(a in SCENARIOS));
  if (unknown.length) throw new Error(`unknown scenario ${unknown.join(', ')}; choose from ${Object.keys(SCENARIOS).join(', ')}`);
  const names = (asked.length ? asked : Object.keys(SCENARIOS)) as Name[];
  const env = Object.entries(process.env)
    .filter(([k]) => k.startsWith('BENCH_'))
    .map(([k, v]) => `${k}=${v} `)
    .join('');
  const command = `${env}npm run bench${asked.length ? ` -- ${asked.join(' ')}` : ''}`;
  const startedAt = new Date();
  const loadAtStart = os.loadavg()[0]!;
  const results: Results = {};
  for (const name of names) await SCENARIOS[name](results);
  const text = render(results, { command, startedAt, loadAtStart, seconds: (Date.now() - startedAt.getTime()) / 1000 });
  process.stdout.write(text);
  const full = names.length === Object.keys(SCENARIOS).length && !config.candidate;
  const file = full ? path.join(__dirname, 'RESULTS.md') : path.join(__dirname, 'out', 'RESULTS.partial.md');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  process.stderr.write(`\nwritten to ${path.relative(process.cwd(), file)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
