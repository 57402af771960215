/**
 * Call recordings (era-platform.md §7): a key per recorded dialog, temporary download links
 * that stop working after their lifetime, and the bytes behind them.
 */
import { createHash } from 'node:crypto';
import { notFound } from './errors';
import { randomName } from './ids';

/** Keys and links kept at most; the oldest go first. */
const CAPACITY = 10_000;

export class Recordings {
  /** key → connectionid of the recorded dialog. */
  private readonly keys = new Map<string, string>();
  /** link path → the key it serves and when it stops working. Insertion order = age order. */
  private readonly links = new Map<string, { key: string; expiresAt: number }>();

  constructor(private readonly linkTtlMs: number) {}

  /** The key of a recording just finished, in the platform's `fs:<node>:<server>/<date>/<file>` form. */
  add(connectionid: string, invitets: number): string {
    const key = `fs:main1:Srv-001/${new Date(invitets).toISOString().slice(0, 10)}/${connectionid}.mp3`;
    this.keys.set(key, connectionid);
    if (this.keys.size > CAPACITY) this.keys.delete(this.keys.keys().next().value as string);
    return key;
  }

  /** A fresh temporary link for `key`, e.g. `/temp/7czoefb0aaefl4mnxvkltaanfzg.mp3`. */
  link(key: string): string {
    if (!this.keys.has(key)) throw notFound(`no recording with key ${key}`);
    const now = Date.now();
    for (const [path, link] of this.links) {
      if (link.expiresAt > now && this.links.size < CAPACITY) break;
      this.links.delete(path);
    }
    const path = `/temp/${randomName(27)}.mp3`;
    this.links.set(path, { key, expiresAt: now + this.linkTtlMs });
    return path;
  }

  /** The file behind a link, or undefined when the link is unknown or too old. */
  download(path: string): Buffer | undefined {
    const link = this.links.get(path);
    if (!link || link.expiresAt <= Date.now()) return undefined;
    return recordingAudio(link.key);
  }

  reset(): void {
    this.keys.clear();
    this.links.clear();
  }
}

/**
 * A few KB that look like an MP3 (ID3 tag, MPEG frame sync), the same for the same key so a
 * test can compare two downloads.
 */
export function recordingAudio(key: string): Buffer {
  let block = createHash('sha256').update(key).digest();
  const length = 2048 + ((block[0] ?? 0) << 4);
  const out = Buffer.alloc(length);
  Buffer.from([0x49, 0x44, 0x33, 0x04, 0, 0, 0, 0, 0, 0, 0xff, 0xfb, 0x90, 0x64]).copy(out);
  for (let pos = 14; pos < length; pos += block.length) {
    block = createHash('sha256').update(block).digest();
    block.copy(out, pos);
  }
  return out;
}
