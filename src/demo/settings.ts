/**
 * The settings file of the demo's Node-RED: Node-RED's own default settings (the file it
 * copies into a new user directory), with its two first-run questions answered so a newcomer
 * sees the demo flow rather than a dialog over it:
 *   - telemetry off: no "Enable Update Notifications" dialog;
 *   - tours off: no "Welcome to Node-RED" tour.
 * Everything else stays Node-RED's default: the editor and HTTP nodes on one root.
 */
import fs from 'node:fs';
import path from 'node:path';

/** The text of the settings file; `defaults` is the path of Node-RED's default settings.js. */
export function demoSettings(defaults: string): string {
  return `// Written by \`npm start\` at every start (src/demo/settings.ts): changes here are lost.
// Node-RED's default settings, with its first-run questions answered.
const defaults = require(${JSON.stringify(defaults)});

module.exports = {
    ...defaults,
    telemetry: { ...defaults.telemetry, enabled: false },
    editorTheme: { ...defaults.editorTheme, tours: false },
};
`;
}

/**
 * Writes the settings file into the user directory, replacing what an earlier run left there
 * (Node-RED's own copy of its defaults, which asks the questions again).
 */
export function writeDemoSettings(userDir: string): string {
  const file = path.join(userDir, 'settings.js');
  fs.writeFileSync(file, demoSettings(require.resolve('node-red/settings.js')));
  return file;
}
