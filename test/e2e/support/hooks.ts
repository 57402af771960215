/** Root hooks of the end-to-end suite: say what it runs on, and leave nothing behind (see work.ts). */
import fs from 'node:fs';
import path from 'node:path';
import { NODE_RED_DIR } from './settings';
import { cleanUp } from './work';

export const mochaHooks: Mocha.RootHookObject = {
  beforeAll() {
    const { version } = JSON.parse(fs.readFileSync(path.join(NODE_RED_DIR, 'package.json'), 'utf8')) as { version: string };
    console.log(`  Node.js ${process.version}, Node-RED ${version} (${NODE_RED_DIR})`);
  },
  afterAll() {
    cleanUp();
  },
};
