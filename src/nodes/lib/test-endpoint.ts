import { EraClient } from '../../era/client';
import { clientOptions } from './client-options';
import type { NodeDef, RedApi, RedNode } from './red';

interface TestRequest {
  id?: string;
  url?: string;
  domain?: string;
  authMode?: string;
  verifyTls?: boolean;
  ca?: string;
  credentials?: Record<string, string | undefined>;
}

/**
 * `POST /era-server/test` for the editor's "Test connection" button. Secrets the dialog
 * left blank (Node-RED never sends stored passwords to the editor) are taken from the
 * deployed node with the same id.
 */
export function registerTestEndpoint(RED: RedApi): void {
  RED.httpAdmin.post('/era-server/test', RED.auth.needsPermission('era-server.write'), (req, res) => {
    const body = (req.body ?? {}) as TestRequest;
    const stored = storedCredentials(RED, body.id);
    const given = body.credentials ?? {};
    const pick = (k: string) => (given[k] && given[k] !== '__PWRD__' ? given[k] : stored[k]);
    const def: NodeDef = {
      id: body.id ?? 'test',
      type: 'era-server',
      url: body.url,
      domain: body.domain,
      authMode: body.authMode,
      verifyTls: body.verifyTls,
      ca: body.ca,
    };
    let client: EraClient;
    try {
      client = new EraClient(
        clientOptions(def, { login: pick('login'), password: pick('password'), token: pick('token') }),
      );
    } catch (err) {
      res.json({ ok: false, message: err instanceof Error ? err.message : String(err) });
      return;
    }
    client
      .testConnection()
      .then(
        (result) => res.json(result),
        (err: unknown) => res.json({ ok: false, message: err instanceof Error ? err.message : String(err) }),
      )
      .finally(() => client.close().catch(() => undefined));
  });
}

function storedCredentials(RED: RedApi, id: string | undefined): Record<string, string | undefined> {
  if (!id) return {};
  const fromStore = RED.nodes.getCredentials?.(id);
  if (fromStore) return fromStore;
  const deployed = RED.nodes.getNode(id) as RedNode | null;
  return deployed?.credentials ?? {};
}
