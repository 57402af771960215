'use strict';
// Node-RED loads a node's editor file and its locales from beside the runtime file, so the
// editor sources in nodes/ are copied next to the compiled runtime in dist/nodes/.
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const from = path.join(root, 'nodes');
const to = path.join(root, 'dist', 'nodes');
fs.mkdirSync(to, { recursive: true });
fs.cpSync(from, to, { recursive: true });
