/**
 * Asks for a secret on the terminal without showing it: the terminal is put in raw mode, so
 * nothing is echoed, and the line is read key by key. Only for a TTY (the caller checks).
 */
import type { ReadStream } from 'node:tty';

export class PromptCancelled extends Error {}

const ENTER = new Set(['\r', '\n', '\u0004']);
const CTRL_C = '\u0003';
const BACKSPACE = new Set(['\u007f', '\b']);

export function promptHidden(question: string, input: ReadStream, output: NodeJS.WritableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (err?: Error): void => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      output.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: Buffer | string): void => {
      for (const ch of String(chunk)) {
        if (ENTER.has(ch)) return finish();
        if (ch === CTRL_C) return finish(new PromptCancelled('cancelled'));
        if (BACKSPACE.has(ch)) value = [...value].slice(0, -1).join('');
        else if (ch >= ' ') value += ch;
      }
    };
    // Raw (no echo) before the question shows: a fast typist's first keys are not echoed either.
    input.setRawMode(true);
    input.setEncoding('utf8');
    input.on('data', onData);
    input.resume();
    output.write(question);
  });
}
