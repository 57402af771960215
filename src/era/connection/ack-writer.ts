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
 * of its frames whole, synchronously (no compression, no fragments), so frames never interleave.
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

function headerBytes(length: number): number {
  // 2 bytes, plus 2 or 8 of extended length, plus the 4-byte mask key.
  return length < 126 ? 6 : length < 65_536 ? 8 : 14;
}

export class AckWriter {
  private frames: string[] = [];
  private lengths: number[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;

  /** `target`: where the frames go, or undefined when the socket can no longer take them. */
  constructor(private readonly target: () => Duplex | undefined) {}

  add(frame: string): void {
    const length = Buffer.byteLength(frame);
    this.frames.push(frame);
    this.lengths.push(length);
    this.bytes += headerBytes(length) + length;
    if (this.bytes >= MAX_BATCH_BYTES) this.flush();
    else this.timer ??= setTimeout(this.flush, ACK_DELAY_MS).unref();
  }

  /** Forgets what was not written yet (the socket dropped: they cannot reach the platform any more). */
  drop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.frames = [];
    this.lengths = [];
    this.bytes = 0;
  }

  /** Writes what is waiting now (before a polite close, which nothing may follow). */
  readonly flush = (): void => {
    const { frames, lengths, bytes } = this;
    this.drop();
    const socket = this.target();
    if (socket === undefined || frames.length === 0) return;
    const buf = Buffer.allocUnsafe(bytes);
    let at = 0;
    for (let i = 0; i < frames.length; i++) {
      const length = lengths[i]!;
      buf[at++] = FIN_TEXT;
      if (length < 126) {
        buf[at++] = MASKED | length;
      } else if (length < 65_536) {
        buf[at++] = MASKED | 126;
        at = buf.writeUInt16BE(length, at);
      } else {
        buf[at++] = MASKED | 127;
        at = buf.writeUInt32BE(0, at);
        at = buf.writeUInt32BE(length, at);
      }
      at = buf.writeUInt32BE(0, at);
      at += buf.write(frames[i]!, at, 'utf8');
    }
    socket.write(buf);
  };
}
