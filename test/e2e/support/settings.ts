/**
 * A user directory's settings.js: the file Node-RED itself ships (a first start copies it into
 * the user directory), followed by the few settings a case changes, so every other setting is
 * the one a new installation has.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './work';

/** The Node-RED this checkout's node_modules holds: 4 on CI's first leg, 5 on its second. */
export const NODE_RED_DIR = path.dirname(require.resolve('node-red/package.json', { paths: [ROOT] }));

/** A module Node-RED depends on (bcryptjs, express), as Node-RED itself loads it. */
function nodeRedModule(name: string): string {
  return require.resolve(name, { paths: [NODE_RED_DIR, path.join(NODE_RED_DIR, 'node_modules')] });
}

/** JavaScript written into settings.js as it is (a function, a require). */
export class Code {
  constructor(readonly source: string) {}
}

/** A setting's value: data, written as JSON, with Code where it holds code. */
export type SettingValue = Code | string | number | boolean | null | SettingValue[] | { [key: string]: SettingValue };

function source(value: SettingValue): string {
  if (value instanceof Code) return value.source;
  if (Array.isArray(value)) return `[${value.map(source).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    return `{ ${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${source(v)}`).join(', ')} }`;
  }
  return JSON.stringify(value);
}

/**
 * Writes settings.js. Every case listens on the loopback interface only (the shipped file
 * listens on all of them): a test must not open ports to the network.
 */
export function writeSettings(userDir: string, edits: Record<string, SettingValue>): void {
  const shipped = fs.readFileSync(path.join(NODE_RED_DIR, 'settings.js'), 'utf8');
  const lines = Object.entries({ uiHost: '127.0.0.1', ...edits }).map(([key, value]) => `module.exports.${key} = ${source(value)};`);
  fs.writeFileSync(path.join(userDir, 'settings.js'), `${shipped}\n// The end-to-end test's edits\n${lines.join('\n')}\n`);
}

/** A password hash as `node-red admin hash-pw` makes it (bcrypt, cost 8), for adminAuth and httpNodeAuth. */
export function hashPassword(password: string): string {
  const bcrypt = require(nodeRedModule('bcryptjs')) as { hashSync(password: string, rounds: number): string };
  return bcrypt.hashSync(password, 8);
}

/** Source of an express body parser of Node-RED's own express (`json`, `text`), for httpNodeMiddleware. */
export function expressParser(kind: 'json' | 'text'): Code {
  return new Code(`require(${JSON.stringify(nodeRedModule('express'))}).${kind}()`);
}
