/**
 * Recordings: get the temporary link for a key (over the token socket, or over REST in
 * user mode), make it absolute, and for a download fetch it with a plain GET — the link
 * needs no authorisation, and a recording that is not written yet answers 404 for a
 * moment, hence a few spaced retries. Downloads are bounded by silence, not by their length.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path, { resolve as resolvePath } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { EraError, invalid, type Redactor } from '../errors';
import { RECORD_LINK_WS_METHOD, recordLinkFromRest, recordLinkFromWs, recordLinkRestRequest, recordLinkWsParams } from '../protocol/recordings';
import { isNotFoundReply } from '../protocol/replies';
import { httpError, type DownloadOptions, type RestResponse, type RestTransport } from '../connection/rest';
import type { Session } from '../connection/session';
import type { JsonObject } from '../types';
import { messageOf } from '../util/text';

export interface RecordingLink {
  /** Absolute temporary URL (it works for a few minutes, without authorisation). */
  url: string;
}

export interface RecordingData extends RecordingLink {
  data: Buffer;
}

export interface RecordingFile extends RecordingLink {
  /** Where the recording was saved (absolute). */
  path: string;
}

export interface RecordingDeps {
  origin: URL;
  session: Session;
  transport: RestTransport;
  wsRequest(method: string, params: JsonObject): Promise<JsonObject>;
  /** Whether the socket (opened for it when needed) was granted `capability`. */
  socketGrants(capability: string): Promise<boolean>;
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
  // The token socket gives links when the platform granted `callrecord`; REST does otherwise.
  if (deps.session.mode === 'token' && (await deps.socketGrants('callrecord'))) {
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

/**
 * Downloads the recording's link, trying again while it answers 404 (not written yet). A 2xx
 * body goes to `save` when given, else comes back buffered.
 */
async function download(key: string, deps: RecordingDeps, save?: DownloadOptions['save']): Promise<{ url: string; res: RestResponse }> {
  const { url } = await recordingLink(key, deps);
  const target = new URL(url);
  let res: RestResponse;
  for (let attempt = 0; ; attempt++) {
    res = await deps.transport.download(target, deps.timeoutMs, { save, signal: deps.closing });
    if (res.statusCode !== 404 || attempt >= deps.retries) break;
    await sleep(deps.retryDelayMs, deps.closing);
  }
  if (res.statusCode >= 200 && res.statusCode < 300) return { url, res };
  if (res.statusCode === 404 || res.statusCode === 410) {
    throw new EraError('ERA_NOT_FOUND',
      `The recording "${key}" could not be downloaded (HTTP ${res.statusCode} after ${deps.retries + 1} tries): it is not ready yet, or its temporary link expired (links work for 5 minutes)`,
      res.statusCode);
  }
  throw httpError('GET', target.pathname, res, deps.redact);
}

export async function downloadRecording(key: string, deps: RecordingDeps): Promise<RecordingData> {
  const { url, res } = await download(key, deps);
  return { url, data: res.body as Buffer };
}

function fileError(target: string, err: unknown): EraError {
  return new EraError('ERA_INVALID_INPUT', `Cannot save the recording as ${target}: ${messageOf(err)}`);
}

/**
 * Streams the recording into the file `target`, so that memory stays flat however long it is.
 * It is written to a temporary file beside the target, flushed to disk and renamed onto it,
 * so that a reader (or a crash) never sees half a recording; on any failure the temporary
 * file goes. The file is opened before anything is fetched: a directory that cannot be
 * written costs no request.
 */
export async function saveRecording(key: string, target: string, deps: RecordingDeps): Promise<RecordingFile> {
  const temp = `${target}.${randomBytes(6).toString('hex')}.part`;
  const file = await mkdir(path.dirname(target), { recursive: true })
    .then(() => open(temp, 'wx'))
    .catch((err: unknown) => {
      throw fileError(target, err);
    });
  const write = async (chunks: AsyncIterable<Buffer>) => {
    for await (const chunk of chunks) {
      // writeFile writes all of the chunk at the handle's position, over short writes too.
      await file.writeFile(chunk).catch((err: unknown) => {
        throw fileError(target, err);
      });
    }
  };
  try {
    const { url } = await download(key, deps, (body) => pipeline(body, write));
    await file.sync().then(() => file.close()).then(() => rename(temp, target)).catch((err: unknown) => {
      throw fileError(target, err);
    });
    return { url, path: target };
  } catch (err) {
    await file.close().catch(() => undefined);
    await rm(temp, { force: true }).catch(() => undefined);
    throw err;
  }
}

export type RecordingOutput = 'url' | 'buffer' | 'file';

/**
 * The temporary link of a recording (`url`), the recording itself (`buffer`), or the recording
 * streamed into the file at `options.path` (`file`: written whole or not at all). The key and the
 * options are checked before anything is asked (ERA_INVALID_INPUT).
 */
export function fetchRecording(key: unknown, options: { output?: unknown; path?: unknown }, deps: () => RecordingDeps): Promise<RecordingLink | RecordingData | RecordingFile> {
  if (typeof key !== 'string' || key.trim() === '') throw invalid('The recording key is empty');
  const output = options.output ?? 'url';
  if (output !== 'url' && output !== 'buffer' && output !== 'file') throw invalid(`Unknown recording output "${String(output)}": use url, buffer or file`);
  if (output === 'file' && (typeof options.path !== 'string' || options.path.trim() === '')) throw invalid('Saving a recording needs the path of the file');
  const given = deps();
  if (output === 'file') return saveRecording(key.trim(), resolvePath(String(options.path)), given);
  return output === 'url' ? recordingLink(key.trim(), given) : downloadRecording(key.trim(), given);
}

