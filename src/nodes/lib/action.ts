import { type EraClient, EraError } from '../../era';
import { evaluateFields, type FieldDefaults } from './inputs';
import type { DoneFn, NodeDef, NodeMessage, RedApi, RedNode, SendFn } from './red';
import { linkToServer, type ServerLink } from './server-link';
import { failureStatus, successStatus } from './status';

export interface ActionResult {
  /** Absent for answers that did not come over HTTP (WebSocket requests). */
  statusCode?: number;
  body: unknown;
}

export interface ActionSpec<F extends string> {
  /** TypedInput fields, with their defaults, evaluated against each message before `perform` runs. */
  fields: FieldDefaults<F>;
  perform(client: EraClient, values: Record<F, unknown>, msg: NodeMessage, def: NodeDef): Promise<ActionResult>;
  /** Adds what this node sets on the message besides payload and statusCode. */
  decorate?(msg: NodeMessage, result: ActionResult): void;
  /** Nodes that report into another property (era-call) leave msg.payload as it came. */
  keepPayload?: boolean;
  /** For nodes that also hold something open while deployed; returns what undoes it. */
  setup?(link: ServerLink): () => void;
}

/**
 * The one input handler behind every action node: evaluate fields, perform, then either pass
 * the incoming message on with the response or end with done(err) so Catch nodes see it.
 */
export function actionNode<F extends string>(RED: RedApi, spec: ActionSpec<F>) {
  return function ActionNode(this: RedNode, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const link = linkToServer(RED, node, def);
    const teardown = spec.setup?.(link);

    node.on('input', (msg: NodeMessage, send: SendFn, done: DoneFn) => {
      run()
        .then((result) => {
          if (!spec.keepPayload) msg.payload = result.body;
          if (result.statusCode !== undefined) msg.statusCode = result.statusCode;
          spec.decorate?.(msg, result);
          link.view.show(successStatus(RED, result.statusCode));
          send(msg);
          done();
        })
        .catch((err: unknown) => {
          const error = asEraError(err);
          link.view.show(failureStatus(RED, error.code, error.statusCode));
          done(error);
        });

      async function run(): Promise<ActionResult> {
        const client = link.client();
        const values = await evaluateFields(RED, node, def, spec.fields, msg).catch((err: unknown) => {
          throw new EraError('ERA_INVALID_INPUT', `Could not read the node's fields: ${messageOf(err)}`);
        });
        return spec.perform(client, values, msg, def);
      }
    });

    node.on('close', (_removed, done) => {
      teardown?.();
      link.close();
      done();
    });
  };
}

/** Anything that is not already an EraError (a bug, a file system error) still gets a code. */
export function asEraError(err: unknown): EraError {
  if (err instanceof EraError) return err;
  return new EraError('ERA_HTTP', `Unexpected failure: ${messageOf(err)}`);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
