import type { EraClientOptions } from '../../era';
import { clientOptions, tlsConfigOf } from './client-options';
import type { NodeDef, RedApi, RedNode } from './red';

/** What the era-server dialog sends to its buttons' endpoints: the values in the dialog, unsaved. */
export interface DialogRequest {
  id?: string;
  url?: string;
  domain?: string;
  authMode?: string;
  verifyTls?: boolean;
  ca?: string;
  /** The id of a tls-config node. */
  tls?: string;
  credentials?: Record<string, string | undefined>;
}

/**
 * Client options for the values in the dialog. Secrets the dialog left blank (Node-RED never
 * sends stored passwords to the editor) are taken from the deployed node with the same id.
 * Throws EraError ERA_INVALID_INPUT as the config node would for the same values.
 */
export function dialogClientOptions(RED: RedApi, request: unknown): EraClientOptions {
  const body = (request ?? {}) as DialogRequest;
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
  return clientOptions(def, { login: pick('login'), password: pick('password'), token: pick('token') }, tlsConfigOf(RED, body.tls));
}

function storedCredentials(RED: RedApi, id: string | undefined): Record<string, string | undefined> {
  if (!id) return {};
  const fromStore = RED.nodes.getCredentials?.(id);
  if (fromStore) return fromStore;
  const deployed = RED.nodes.getNode(id) as RedNode | null;
  return deployed?.credentials ?? {};
}
