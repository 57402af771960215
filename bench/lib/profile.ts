/**
 * BENCH_PROFILE=1: a CPU profile of each measured window (not of start-up), written by the
 * client process to bench/out/profiles/<name>.cpuprofile; read it with bench/profile-top.ts
 * or Chrome DevTools.
 */
import fs from 'node:fs';
import { Session } from 'node:inspector';
import path from 'node:path';
import { config } from '../config';

const DIR = path.resolve(__dirname, '..', 'out', 'profiles');

let session: Session | undefined;

function post(method: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    session!.post(method, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

export async function startProfile(): Promise<void> {
  if (!config.profile) return;
  session ??= new Session();
  session.connect();
  await post('Profiler.enable');
  await post('Profiler.start');
}

export async function stopProfile(name: string): Promise<void> {
  if (!config.profile || !session) return;
  const { profile } = (await post('Profiler.stop')) as { profile: unknown };
  session.disconnect();
  fs.mkdirSync(DIR, { recursive: true });
  fs.writeFileSync(path.join(DIR, `${name}.cpuprofile`), JSON.stringify(profile));
}
