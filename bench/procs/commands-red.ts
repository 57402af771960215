/** The command path in Node-RED: era-hold or the core http request node, fed by the load runner. */
import { ACT, commandFlow, commandMessage, ERR_SINK, nthRequest, OK_SINK, type CommandVariant } from '../flows/commands';
import { ERA_CREDENTIALS } from '../flows/events';
import { runLoad, type Finish, type LoadSpec } from '../lib/load';
import { deploy, getNode, onSink, startRed } from '../lib/red';
import { serve } from '../lib/rpc';

let variant: CommandVariant;
let simUrl: string;
/** Where the current run's outcomes go. */
let finish: Finish = () => undefined;

/** A failure's code as a Catch node sees it: msg.error.code, else an E... code in the message. */
function errorCode(error: unknown): string {
  const e = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof e.code === 'string') return e.code;
  const message = String(e.message ?? '');
  return /\b(E[A-Z]{3,})\b/.exec(message)?.[1] ?? (message.slice(0, 60) || 'unknown');
}

serve({
  async setup(args: { url: string; variant: CommandVariant }) {
    variant = args.variant;
    simUrl = args.url;
    await startRed();
    await deploy(commandFlow(variant, simUrl), variant === 'era-hold' ? ERA_CREDENTIALS : {});
    onSink(OK_SINK, (msg) => {
      const status = msg.statusCode;
      const ok = typeof status === 'number' && status >= 200 && status < 300;
      finish(msg.benchIndex as number, ok ? undefined : `HTTP ${String(status)}`);
    });
    onSink(ERR_SINK, (msg) => finish(msg.benchIndex as number, errorCode(msg.error)));
  },
  run(args: LoadSpec & { calls: string[] }) {
    const act = getNode(ACT);
    return runLoad(args, (f) => {
      finish = f;
      return (i) => {
        const { call, hold } = nthRequest(i, args.calls);
        act.receive({ ...commandMessage(variant, simUrl, call, hold), benchIndex: i });
      };
    });
  },
});
