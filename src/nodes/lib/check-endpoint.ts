import { formatText } from '../../check/report';
import { runReport, unusableSettingsReport } from '../../check/run';
import type { EraClientOptions } from '../../era';
import { dialogClientOptions, type DialogRequest } from './dialog-options';
import type { RedApi } from './red';

/** The dialog waits for the report, so it listens for a shorter while than the command's 30 s. */
export const DIALOG_LISTEN_SECONDS = 10;

/**
 * `POST /era-server/check` for the dialog's "Check installation" button: the compatibility
 * report of `era-check`, with the values in the dialog (stored secrets for the ones it left
 * blank). Answers `{report, text}`: the JSON report and the same as text for a person.
 */
export function registerCheckEndpoint(RED: RedApi): void {
  RED.httpAdmin.post('/era-server/check', RED.auth.needsPermission('era-server.write'), (req, res) => {
    let options: EraClientOptions;
    try {
      options = dialogClientOptions(RED, req.body);
    } catch (err) {
      const body = (req.body ?? {}) as DialogRequest;
      const report = unusableSettingsReport({ url: body.url ?? '', authMode: body.authMode === 'token' ? 'token' : 'user' }, err instanceof Error ? err.message : String(err), DIALOG_LISTEN_SECONDS);
      res.json({ report, text: formatText(report) });
      return;
    }
    runReport({ client: options, listenSeconds: DIALOG_LISTEN_SECONDS }).then(
      (report) => res.json({ report, text: formatText(report) }),
      // runReport turns every failure into a step; this only keeps a bug of its own from crashing Node-RED.
      (err: unknown) => res.status(500).json({ message: `The report could not run: ${err instanceof Error ? err.name : 'error'}` }),
    );
  });
}
