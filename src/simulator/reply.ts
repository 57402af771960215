/** Building HTTP answers and reading JSON request bodies, shared by the REST and control APIs. */
import { badRequest, errorBody, SimError } from './errors';
import type { HttpReply, HttpRequest } from './http';

export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

export function json(status: number, value: unknown, headers: Record<string, string> = {}): HttpReply {
  return { status, headers: { 'Content-Type': JSON_CONTENT_TYPE, ...headers }, body: JSON.stringify(value) };
}

export function errorReply(err: unknown): HttpReply {
  if (err instanceof SimError) return json(err.status, errorBody(err.code, err.message));
  return json(500, errorBody('internal', err instanceof Error ? err.message : String(err)));
}

export function methodNotAllowed(allowed: readonly string[]): HttpReply {
  return json(405, errorBody('method_not_allowed', `allowed: ${allowed.join(', ')}`), { Allow: allowed.join(', ') });
}

export type JsonObject = Record<string, unknown>;

/** The body as a JSON object; an empty body is `{}`. Anything else is a 400. */
export function jsonBody(req: HttpRequest): JsonObject {
  if (req.body.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(req.body.toString('utf8'));
  } catch {
    throw badRequest('the body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badRequest('the body must be a JSON object');
  return value as JsonObject;
}

/** The path without a trailing slash, so `/calls/` and `/calls` are one route. */
export function routePath(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

/** One decoded path segment; a malformed escape is a 400. */
export function segment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw badRequest(`bad path segment ${raw}`);
  }
}
