/**
 * A refusal the platform would answer with: REST turns it into a status and a JSON error body,
 * the WebSocket API into an error reply, the control API into a status.
 */
export class SimError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | number,
    message: string,
  ) {
    super(message);
    this.name = 'SimError';
  }
}

export const badRequest = (message: string): SimError => new SimError(400, 'bad_request', message);
export const notFound = (message: string): SimError => new SimError(404, 'not_found', message);
export const invalidState = (message: string): SimError => new SimError(409, 'invalid_state', message);

/** The error body of every non-2xx answer: `{"error": {"code", "message"}}`. */
export function errorBody(code: string | number, message: string): { error: { code: string | number; message: string } } {
  return { error: { code, message } };
}
