import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

/** A logger at trace level whose every line a test can read back as text. */
export function captureLog(): { log: Logger; text: () => string } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { log: pino({ level: 'trace' }, stream), text: () => lines.join('') };
}
