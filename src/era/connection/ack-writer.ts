/**
 * Acknowledgements, gathered for a few milliseconds and written as one buffer of WebSocket frames.
 *
 * Every push with a qid is acknowledged, so acknowledgements are the client's only traffic per
 * event, and their writes were the dearest step of the event path in the profiles: a write to a
 * TCP socket costs tens of µs of system time (on loopback the kernel also delivers it), while a
 * busy platform pushes an event every few tens of µs. Written once per ACK_DELAY_MS instead of
 * once per socket read, a burst's acknowledgements cost one system call per hundreds of events;
 * a receipt a few milliseconds late tells the platform the same.
 *
 * `ws` has no way to send several messages at once, so the frames are made here (RFC 6455 §5.2:
 * FIN and a text opcode, the masked length, an all-zero mask, the unchanged payload) and written
 * straight to the socket under it. That is safe beside `ws`'s own sends because `ws` writes each
 * of its frames whole, synchronously (no compression, no fragments), so frames never interleave;
 * and whatever `ws` writes goes after the acknowledgements waiting (attach()), as when each was
 * sent at once — above all its close frame, which nothing may follow, when the platform closes
 * or breaks the protocol right after its pushes.
 */
import type { Duplex } from 'node:stream';

/** FIN + opcode 1 (text). */
const FIN_TEXT = 0x81;
/** The mask bit a client sets on every frame it sends. */
const MASKED = 0x80;
/** How long an acknowledgement may wait for others to share its write. */
export const ACK_DELAY_MS = 5;
/** Written at once when this much is waiting, whatever the time. */
const MAX_BATCH_BYTES = 64 * 1024;

/** A frame's header: FIN and opcode, the masked payload length (7, 16 or 64 bits), an all-zero mask. */
function header(length: number): Buffer {
  const extended = length < 126 ? 0 : length < 65_536 ? 2 : 8;
  const head = Buffer.alloc(2 + extended + 4);
  head[0] = FIN_TEXT;
  if (extended === 0) {
    head[1] = MASKED | length;
  } else if (extended === 2) {
    head[1] = MASKED | 126;
    head.writeUInt16BE(length, 2);
  } else {
    head[1] = MASKED | 127;
    head.writeUInt32BE(length, 6);
  }
  return head;
}

/** The headers of the short frames, as latin1 text: an acknowledgement of a numeric qid is one of them. */
const SHORT_HEADERS = Array.from({ length: 126 }, (_, length) => header(length).toString('latin1'));

export class AckWriter {
  /**
   * ASCII frames with their headers, as latin1 text (every header byte is one latin1 character,
   * and ASCII is the same in both): a batch of them is written as one string, with no buffer or
   * native call per frame. Other frames wait in `chunks` as buffers, in order.
   */
  private text = '';
  private chunks: Buffer[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private socket: Duplex | undefined;

  /** `open`: whether the WebSocket may still send (not closing, nor closed). */
  constructor(private readonly open: () => boolean) {}

  /**
   * The socket under a freshly upgraded WebSocket: acknowledgements go there from now on, and
   * anything else written to it first lets those waiting out.
   */
  attach(socket: Duplex): void {
    this.detach();
    this.socket = socket;
    const write = socket.write as (...args: unknown[]) => boolean;
    socket.write = ((...args: unknown[]): boolean => {
      if (this.socket === socket && this.bytes > 0) this.writeTo(socket);
      return write.apply(socket, args);
    }) as Duplex['write'];
  }

  /** The socket dropped: what waits cannot reach the platform any more. */
  detach(): void {
    this.drop();
    this.socket = undefined;
  }

  add(frame: string): void {
    const length = Buffer.byteLength(frame);
    if (length === frame.length && length < 126) {
      this.text += SHORT_HEADERS[length]! + frame;
    } else {
      this.keepText();
      this.chunks.push(header(length), Buffer.from(frame));
    }
    this.bytes += length + 14;
    if (this.bytes >= MAX_BATCH_BYTES) this.flush();
    else this.timer ??= setTimeout(this.flush, ACK_DELAY_MS).unref();
  }

  /** Writes what is waiting now (at its time, or before a polite close). */
  readonly flush = (): void => {
    const socket = this.socket;
    if (socket === undefined || !this.open()) this.drop();
    else this.writeTo(socket);
  };

  private writeTo(socket: Duplex): void {
    if (this.chunks.length > 0) this.keepText();
    const { text, chunks } = this;
    this.drop();
    if (chunks.length > 0) socket.write(Buffer.concat(chunks));
    else if (text !== '') socket.write(text, 'latin1');
  }

  private drop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.text = '';
    this.chunks = [];
    this.bytes = 0;
  }

  /** The text gathered so far joins the chunks, so that the frames keep their order. */
  private keepText(): void {
    if (this.text === '') return;
    this.chunks.push(Buffer.from(this.text, 'latin1'));
    this.text = '';
  }
}
