/**
 * The command path's limit: the same requests through a bare undici Pool (16 keep-alive
 * connections, as the client's). `reset: false` keeps them alive: undici otherwise closes a
 * connection after any request whose method it does not expect a body with (NOTIFY, REFER, ...).
 */
import { Pool } from 'undici';
import { AUTHORIZATION, nthRequest, requestPath } from '../flows/commands';
import { runLoad, type LoadSpec } from '../lib/load';
import { serve } from '../lib/rpc';

let pool: Pool;

serve({
  setup(args: { url: string }) {
    pool = new Pool(args.url, { connections: 16, pipelining: 1 });
  },
  run: (args: LoadSpec & { calls: string[] }) =>
    runLoad(args, (finish) => (i) => {
      const { call, hold } = nthRequest(i, args.calls);
      pool
        .request({
          method: 'NOTIFY',
          path: requestPath(call),
          headers: { authorization: AUTHORIZATION, 'content-type': 'application/json' },
          body: JSON.stringify({ event: hold ? 'hold' : 'talk' }),
          reset: false,
        })
        .then(async (res) => {
          await res.body.json();
          finish(i, res.statusCode >= 200 && res.statusCode < 300 ? undefined : `HTTP ${res.statusCode}`);
        })
        .catch((err: unknown) => finish(i, (err as { code?: string }).code ?? String(err)));
    }),
});
