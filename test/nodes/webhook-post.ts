/**
 * Deliveries as a platform sends them, over a fresh connection each, and the bound every answer
 * must meet: it starts within a second of the request's last byte (nothing hangs).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';

export const ANSWER_WITHIN_MS = 1000;

/** A delivery's body as the simulator sends it. */
export function event(type: string, data: Record<string, unknown>, cls = 'callevents'): Record<string, unknown> {
  return { class: cls, type, data, eventts: data.eventts };
}

/** The fields of a call event of call `n`. */
export function callData(n: number, eventid: string): Record<string, unknown> {
  return { eventid, eventts: 1_700_000_000_000 + n, cid: `cid-${n}`, connectionid: `cid-${n}.1700000000000`, invitets: 1_700_000_000_000, fromnum: '+79990001122', tonum: '101', dir: 'in' };
}

export interface Answer {
  status: number;
  text: string;
  headers: http.IncomingHttpHeaders;
}

/** POSTs `body` (an object as JSON, `application/json` unless `headers` say otherwise); asserts the answer came in time. */
export function post(url: string, body: string | Buffer | object, headers: Record<string, string> = {}): Promise<Answer> {
  const payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    let sentAt = 0;
    const req = http.request(url, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      // An answer before the last byte went out (a 413 mid-upload) is in time too.
      const waited = sentAt === 0 ? 0 : Date.now() - sentAt;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          assert.ok(waited < ANSWER_WITHIN_MS, `answered ${waited} ms after the request's last byte`);
        } catch (err) {
          reject(err);
          return;
        }
        resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString(), headers: res.headers });
      });
    });
    req.on('finish', () => (sentAt = Date.now()));
    req.on('error', reject);
    req.end(payload);
  });
}

export interface Stalled {
  /** The status line's code, or 0 when the socket closed without an answer. */
  status: number;
  /** From the last byte sent to the answer. */
  answeredAfterMs: number;
  /** From the last byte sent until the server closed the socket (-1: still open when we gave up). */
  closedAfterMs: number;
}

/**
 * A delivery whose body stops coming: the headers promise `declared` bytes, `sent` of them come,
 * then nothing while the socket stays open. Waits up to `waitMs` for the answer and the close.
 */
export function stalledPost(url: string, head: Record<string, string>, partial: Buffer, declared: number, waitMs = 5000): Promise<Stalled> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(target.port), target.hostname);
    let sentAt = 0;
    let answeredAt = 0;
    let text = '';
    let given = false;
    const give = (closed: boolean): void => {
      if (given) return;
      given = true;
      clearTimeout(timer);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      resolve({ status, answeredAfterMs: answeredAt === 0 ? -1 : answeredAt - sentAt, closedAfterMs: closed ? Date.now() - sentAt : -1 });
      socket.destroy();
    };
    const timer = setTimeout(() => give(false), waitMs);
    socket.on('data', (chunk: Buffer) => {
      if (answeredAt === 0) answeredAt = Date.now();
      text += chunk.toString('latin1');
    });
    socket.on('close', () => give(true));
    socket.on('error', (err) => (sentAt === 0 ? reject(err) : undefined));
    const lines = [`POST ${target.pathname}${target.search} HTTP/1.1`, `Host: ${target.host}`, `Content-Length: ${declared}`, ...Object.entries(head).map(([k, v]) => `${k}: ${v}`)];
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    socket.write(partial, () => (sentAt = Date.now()));
  });
}

/**
 * A request written by hand on a fresh socket: `target` as it stands in the request line (the
 * absolute form `http://host/path` too), then the body's `parts`, a number being a pause in ms
 * between them. Resolves with the answer's status (0: none within `waitMs` of the last part) and text.
 */
export function rawPost(url: string, target: string, head: Record<string, string>, parts: ReadonlyArray<Buffer | string | number>, waitMs = 3000): Promise<{ status: number; text: string }> {
  const origin = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(origin.port), origin.hostname);
    let text = '';
    let timer: NodeJS.Timeout | undefined;
    let given = false;
    const give = (): void => {
      if (given) return;
      given = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text });
    };
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      // One answer is all this waits for: it is complete once its declared length came.
      const headEnd = text.indexOf('\r\n\r\n');
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(text)?.[1] ?? Number.NaN);
      if (headEnd !== -1 && Buffer.byteLength(text.slice(headEnd + 4)) >= length) give();
    });
    socket.on('close', give);
    socket.on('error', (err) => (text === '' ? reject(err) : give()));
    const lines = [`POST ${target} HTTP/1.1`, `Host: ${origin.host}`, ...Object.entries(head).map(([k, v]) => `${k}: ${v}`)];
    void (async () => {
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      for (const part of parts) {
        if (typeof part === 'number') await new Promise((r) => setTimeout(r, part));
        else if (!socket.destroyed) socket.write(part);
      }
      timer = setTimeout(give, waitMs);
    })();
  });
}
