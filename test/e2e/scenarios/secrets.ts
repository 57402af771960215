/** Secrets as a user of the running Node-RED could come across them. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Case } from '../support/case';

/** Fails naming the secret (never showing it) when `text` holds one, as it is or JSON-escaped. */
export function assertNoSecret(c: Case, text: string, where: string): void {
  for (const [name, secret] of Object.entries(c.secrets())) {
    assert.ok(!text.includes(secret) && !text.includes(JSON.stringify(secret).slice(1, -1)), `${name} shows in ${where}`);
  }
}

/** Last in a case, so that everything the case did has been printed. */
export function noSecretsShown(c: Case): void {
  describe('secrets', function () {
    it("shows no secret in Node-RED's output, in the flows the editor reads, or in clear in flows_cred.json", async function () {
      const flows = await c.red.admin('/flows');
      assert.equal(flows.status, 200);
      const places: Record<string, string> = {
        "Node-RED's output": c.red.output,
        'GET /flows': await flows.text(),
        'flows_cred.json': fs.readFileSync(path.join(c.red.userDir, 'flows_cred.json'), 'utf8'),
      };
      for (const [where, text] of Object.entries(places)) assertNoSecret(c, text, where);
    });
  });
}
