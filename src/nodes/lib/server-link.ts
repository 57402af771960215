import { type EraClient, EraError, messageOf } from '../../era';
import type { NodeDef, NodeStatus, RedApi, RedNode } from './red';
import { linkStatus, StatusView, type LinkState } from './status';

/** What a dependent node is told when the connection changes. */
export type LinkListener = (status: NodeStatus, state: LinkState) => void;

export interface EraServerNode extends RedNode {
  /** Undefined when the configuration cannot be used; `configError` then says why. */
  client?: EraClient;
  configError?: EraError;
  /** Registers a dependent node for connection status; it is told the current one at once. */
  watch(listener: LinkListener): () => void;
}


/** A dependent node's tie to its `era-server`: the client, and the connection status shown. */
export interface ServerLink {
  view: StatusView;
  /** The usable client, or the clear error that explains why there is none. */
  client(): EraClient;
  close(): void;
}

export function linkToServer(RED: RedApi, node: RedNode, def: NodeDef): ServerLink {
  const view = new StatusView(node);
  const server = typeof def.server === 'string' ? (RED.nodes.getNode(def.server) as EraServerNode | null) : null;
  if (!server) {
    const err = new EraError('ERA_INVALID_INPUT', 'No Era server is configured for this node');
    view.show(linkStatus(RED, 'invalid_config', err.message));
    return { view, client: () => { throw err; }, close: () => undefined };
  }
  const unwatch = server.watch((status) => view.show(status));
  return {
    view,
    client: () => {
      if (server.client) return server.client;
      throw server.configError ?? new EraError('ERA_INVALID_INPUT', 'The Era server configuration is not usable');
    },
    close: unwatch,
  };
}

/**
 * A handle on the server's client, held for the node's life: opened now (`open` absent: none,
 * the node's settings could not be used), closed with the link when the node closes. Without a
 * client the link already shows why; it is said once in the log too.
 */
export function holdForLife(node: RedNode, link: ServerLink, open?: (client: EraClient) => { close(): void }): void {
  let handle: { close(): void } | undefined;
  if (open !== undefined) {
    try {
      handle = open(link.client());
    } catch (err) {
      node.error(messageOf(err));
    }
  }
  node.on('close', (_removed: boolean, done: () => void) => {
    handle?.close();
    link.close();
    done();
  });
}
