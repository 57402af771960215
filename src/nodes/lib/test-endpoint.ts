import { EraClient } from '../../era';
import { dialogClientOptions } from './dialog-options';
import type { RedApi } from './red';

/**
 * `POST /era-server/test` for the editor's "Test connection" button, with the values in the
 * dialog (stored secrets for the ones it left blank).
 */
export function registerTestEndpoint(RED: RedApi): void {
  RED.httpAdmin.post('/era-server/test', RED.auth.needsPermission('era-server.write'), (req, res) => {
    let client: EraClient;
    try {
      client = new EraClient(dialogClientOptions(RED, req.body));
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
