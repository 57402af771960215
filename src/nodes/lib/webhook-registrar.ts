import { EraClient, type EraClientOptions, makeRedactor, type PlatformRequest, type RegistrationDeps, type RegistrationState, webhookClasses, webhookDeleteRequest, WebhookRegistration } from '../../era';
import type { NodeStatus } from './red';
import { registeredUrl, secretForms, type WebhookConfig } from './webhook-config';

/** Lifetime asked for a webhook (the platform's recommended long form: 3600 s, renewed after ~3000 s). */
const WEBHOOK_EXPIRES_S = 3600;
const RETRY_MIN_MS = 2_000;
const RETRY_MAX_MS = 300_000;
/** Deleting a webhook that is not wanted any more may take this long. */
const DELETE_TIMEOUT_MS = 1_500;

/** A REST sender over the client's credentials, in the shape the client's modules take. */
export function platformSender(client: EraClient): (req: PlatformRequest, timeoutMs?: number) => Promise<{ body: unknown }> {
  return (req, timeoutMs) => client.rest(req.method, req.path, req.body, { query: req.query, timeoutMs });
}

/** Deletes a webhook nobody will renew, best-effort (it lapses by itself within its lifetime anyway). */
export function deleteWebhook(client: EraClient, id: string): Promise<void> {
  return platformSender(client)(webhookDeleteRequest(id), DELETE_TIMEOUT_MS).then(
    () => undefined,
    () => undefined,
  );
}

/** The same through a client of its own, closed afterwards (the server's may be closing). */
export async function deleteWebhookApart(options: EraClientOptions, id: string): Promise<void> {
  let client: EraClient;
  try {
    client = new EraClient(options);
  } catch {
    return;
  }
  await deleteWebhook(client, id);
  await client.close();
}

export interface RegistrarOptions {
  config: WebhookConfig;
  client: EraClient | undefined;
  /** The endpoint's URL (without credentials or the secret). */
  url: string;
  /** The URL as a person may see it: to set by hand in the channel's settings. */
  shown: string;
  /** The webhook this node left on the platform at its last deploy, if any. */
  keptId: string | undefined;
  /** A status text by key (era-webhook.status.*). */
  t(key: string): string;
  show(status: NodeStatus): void;
  warnOnce(msg: string): void;
  debug(msg: string): void;
  /** The webhook lapsed and is back: reconcile the gap. */
  lapsed(): void;
}

/**
 * Registers the node's webhook when it is asked for and possible (a token-mode server and a
 * public URL), and shows how it goes; otherwise the status shows the URL to set by hand.
 * A webhook kept from the last deploy is renewed, or deleted when registration is now off.
 */
export function startRegistrar(o: RegistrarOptions): WebhookRegistration | undefined {
  const manual = `${o.t('manual')}: ${o.shown}`;
  const { config, client } = o;
  const cannot = !config.register ? undefined
    : client === undefined ? o.t('needsServer')
      : client.authMode !== 'token' ? o.t('needsToken')
        : config.publicUrl === '' ? o.t('needsPublicUrl') : undefined;
  if (!config.register || cannot !== undefined || client === undefined) {
    // Registered before but not now: the old webhook would go on sending here.
    if (o.keptId !== undefined && client !== undefined) void deleteWebhook(client, o.keptId);
    if (cannot === undefined) {
      o.show({ fill: 'green', shape: 'dot', text: manual });
    } else {
      o.warnOnce(`era-webhook: cannot register the webhook (${cannot}); set the integration channel's url to ${o.shown} by hand`);
      o.show({ fill: 'red', shape: 'ring', text: `${cannot} · ${manual}` });
    }
    return undefined;
  }
  const registration = new WebhookRegistration(deps(o, client, (state) => o.show(status(o, state, manual))), o.keptId);
  registration.start();
  return registration;
}

function status(o: RegistrarOptions, state: RegistrationState, manual: string): NodeStatus {
  switch (state.kind) {
    case 'registering':
      return { fill: 'yellow', shape: 'ring', text: o.t('registering') };
    case 'registered':
      return { fill: 'green', shape: 'dot', text: `${o.t('registered')}: ${o.shown}` };
    case 'failed':
      o.warnOnce(`era-webhook: registering the webhook failed (${state.message}); ${state.refused ? '' : 'trying again; meanwhile '}set the integration channel's url to ${o.shown} by hand`);
      return { fill: state.refused ? 'red' : 'yellow', shape: 'ring', text: `${o.t(state.refused ? 'refused' : 'retrying')}: ${state.message} · ${manual}` };
  }
}

function deps(o: RegistrarOptions, client: EraClient, state: (s: RegistrationState) => void): RegistrationDeps {
  const { config } = o;
  return {
    send: platformSender(client),
    spec: { url: registeredUrl(o.url, config), classes: webhookClasses(config.patterns), expires: WEBHOOK_EXPIRES_S },
    retryMinMs: RETRY_MIN_MS,
    retryMaxMs: RETRY_MAX_MS,
    redact: makeRedactor(secretForms(config)),
    state,
    lapsed: o.lapsed,
    debug: o.debug,
  };
}
