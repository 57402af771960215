import path from 'node:path';
import { EraError, shownValue } from '../era';
import { OPTIONAL } from './lib/inputs';
import { actionNode } from './lib/action';
import type { RedApi } from './lib/red';
import { fileInside } from './lib/save-file';

export = function register(RED: RedApi): void {
  RED.nodes.registerType(
    'era-recording',
    actionNode(RED, {
      fields: { key: ['payload.key', 'msg'], filename: OPTIONAL },
      async perform(client, v, _msg, def) {
        const output = def.output === 'buffer' || def.output === 'file' ? def.output : 'url';
        const key = v.key;
        if (typeof key !== 'string' || !key.trim()) {
          throw new EraError('ERA_INVALID_INPUT', 'No recording key: set the key field or msg.payload.key');
        }
        // Platform keys never climb directories; one that does is an attempt to escape the folder.
        if (/(^|[\\/:])\.\.([\\/]|$)/.test(key) || key.includes('\0')) {
          throw new EraError('ERA_INVALID_INPUT', `Refused recording key ${shownValue(key)}: it contains a ".." path segment`);
        }
        if (output === 'url') {
          const rec = await client.fetchRecording(key, { output: 'url' });
          return { statusCode: 200, body: rec.url };
        }
        if (output === 'buffer') {
          const rec = await client.fetchRecording(key, { output: 'buffer' });
          return { statusCode: 200, body: rec.data };
        }
        // The target is checked before anything is fetched, so a bad name sends nothing.
        const name = v.filename ? String(v.filename) : path.posix.basename(key.replace(/\\/g, '/'));
        const target = fileInside(String(def.directory ?? ''), name, RED.settings.fileWorkingDirectory);
        const rec = await client.fetchRecording(key, { output: 'file', path: target });
        return { statusCode: 200, body: rec.path };
      },
    }),
  );
};
