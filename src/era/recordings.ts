/**
 * Recordings: get the temporary link for a key (over the token socket, or over REST in
 * user mode), make it absolute, and for a download fetch it with a plain GET — the link
 * needs no authorisation, and a recording that is not written yet answers 404 for a
 * moment, hence a few spaced retries.
 */
import { EraError, type Redactor } from './errors';
import {
  RECORD_LINK_WS_METHOD,
  isNotFoundReply,
  recordLinkFromRest,
  recordLinkFromWs,
  recordLinkRestRequest,
  recordLinkWsParams,
} from './protocol';
import { httpError, type RestResponse, type RestTransport } from './rest';
import type { Session } from './session';
import type { JsonObject } from './types';

export interface RecordingLink {
  /** Absolute temporary URL (it works for a few minutes, without authorisation). */
  url: string;
}

export interface RecordingData extends RecordingLink {
  data: Buffer;
}

export interface RecordingDeps {
  origin: URL;
  session: Session;
  transport: RestTransport;
  wsRequest(method: string, params: JsonObject): Promise<JsonObject>;
  redact: Redactor;
  timeoutMs: number;
  retries: number;
  retryDelayMs: number;
  /** Aborted when the client closes, so that no retry delay outlives it. */
  closing: AbortSignal;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const stop = () => {
      clearTimeout(timer);
      reject(new EraError('ERA_NOT_CONNECTED', 'The client was closed while waiting for the recording'));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', stop);
      resolve();
    }, ms);
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
  });
}

async function linkFor(key: string, deps: RecordingDeps): Promise<string> {
  if (deps.session.mode === 'token') {
    const reply = await deps.wsRequest(RECORD_LINK_WS_METHOD, recordLinkWsParams(key));
    const answer = recordLinkFromWs(reply);
    if ('link' in answer) return answer.link;
    const reason = deps.redact(answer.error.message);
    if (isNotFoundReply(answer.error)) throw new EraError('ERA_NOT_FOUND', `No recording "${key}": ${reason}`);
    throw new EraError('ERA_HTTP', `The platform gave no link for recording "${key}": ${reason}`);
  }
  const req = recordLinkRestRequest(key);
  const res = await deps.session.send(req);
  if (res.statusCode === 404) throw new EraError('ERA_NOT_FOUND', `No recording "${key}" (HTTP 404)`, 404);
  if (res.statusCode < 200 || res.statusCode >= 300) throw httpError(req.method, req.path, res, deps.redact);
  const link = recordLinkFromRest(res.body);
  if (link === undefined) throw new EraError('ERA_HTTP', `The platform's answer for recording "${key}" carries no link`);
  return link;
}

export async function recordingLink(key: string, deps: RecordingDeps): Promise<RecordingLink> {
  return { url: new URL(await linkFor(key, deps), deps.origin).toString() };
}

export async function downloadRecording(key: string, deps: RecordingDeps): Promise<RecordingData> {
  const { url } = await recordingLink(key, deps);
  const target = new URL(url);
  let res: RestResponse;
  for (let attempt = 0; ; attempt++) {
    res = await deps.transport.download(target, deps.timeoutMs);
    if (res.statusCode !== 404 || attempt >= deps.retries) break;
    await sleep(deps.retryDelayMs, deps.closing);
  }
  if (res.statusCode >= 200 && res.statusCode < 300) return { url, data: res.body as Buffer };
  if (res.statusCode === 404 || res.statusCode === 410) {
    throw new EraError('ERA_NOT_FOUND',
      `The recording "${key}" could not be downloaded (HTTP ${res.statusCode} after ${deps.retries + 1} tries): it is not ready yet, or its temporary link expired (links work for 5 minutes)`,
      res.statusCode);
  }
  throw httpError('GET', target.pathname, res, deps.redact);
}
