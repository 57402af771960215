/**
 * `npm start`: the simulator with live traffic plus a Node-RED that has this package and a
 * demo flow, so a newcomer sees call events in the debug sidebar without an Era installation.
 *
 * Environment: ERA_SIM_PORT (8088), NODE_RED_PORT (1880), NODE_RED_USER_DIR (the Node-RED
 * user directory, `.node-red-data/` in this checkout; the editor test points it elsewhere).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { startSimulator, type Simulator } from '../simulator';
import { demoFlow } from './flow';
import { flowsLoaded } from './node-red';
import { writeDemoSettings } from './settings';

const root = path.resolve(__dirname, '..', '..');
const userDir = path.resolve(process.env.NODE_RED_USER_DIR || path.join(root, '.node-red-data'));
const simPort = Number(process.env.ERA_SIM_PORT ?? 8088);
const redPort = Number(process.env.NODE_RED_PORT ?? 1880);

/** Makes this checkout an installed module of the Node-RED user dir, as `npm install <path>` would. */
function linkPackage(): void {
  const scope = path.join(userDir, 'node_modules', '@era-cti');
  fs.mkdirSync(scope, { recursive: true });
  const link = path.join(scope, 'node-red-era');
  if (!fs.existsSync(link)) fs.symlinkSync(root, link, 'dir');
  const pkg = path.join(userDir, 'package.json');
  if (!fs.existsSync(pkg)) {
    fs.writeFileSync(pkg, JSON.stringify({ name: 'node-red-era-demo', private: true, dependencies: { '@era-cti/node-red-era': `file:${root}` } }, null, 2));
  }
}


async function deployDemo(url: string, simUrl: string): Promise<void> {
  const res = await fetch(`${url}flows`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'Node-RED-Deployment-Type': 'full' },
    body: JSON.stringify(demoFlow(simUrl)),
  });
  if (!res.ok) throw new Error(`deploying the demo flow failed: HTTP ${res.status} ${await res.text()}`);
}

/** Stops Node-RED (SIGINT, as Ctrl+C would; SIGKILL after 10 s) and resolves once it has exited. */
async function stopNodeRed(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

async function main(): Promise<void> {
  let sim: Simulator | undefined;
  let child: ChildProcess | undefined;
  let stopping = false;
  // Ends the launcher once, whatever asked first: a signal, Node-RED exiting, a failed start.
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    if (child) await stopNodeRed(child);
    await sim?.stop();
    process.exit(code);
  };
  process.once('SIGINT', () => void shutdown(0));
  process.once('SIGTERM', () => void shutdown(0));

  try {
    sim = await startSimulator({ port: simPort, traffic: true });
    console.log(`Era simulator:  ${sim.url}  (domain demo.local, login operator, password operator, token demo-token)`);

    fs.mkdirSync(userDir, { recursive: true });
    linkPackage();
    writeDemoSettings(userDir);
    const fresh = !fs.existsSync(path.join(userDir, 'flows.json'));
    const redMain = require.resolve('node-red/red.js');
    child = spawn(process.execPath, [redMain, '--userDir', userDir, '--port', String(redPort)], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.once('exit', (code) => void shutdown(code ?? 0));
    const editor = `http://127.0.0.1:${redPort}/`;

    await flowsLoaded(editor, child);
    if (fresh) await deployDemo(editor, sim.url);
    console.log('');
    console.log(`Node-RED editor: ${editor}`);
    console.log('Open it and the debug sidebar (the bug icon, top right): live call events arrive every few seconds.');
    console.log('Stop with Ctrl+C.');
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    await shutdown(1);
  }
}

void main();
