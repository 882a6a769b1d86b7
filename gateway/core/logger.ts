import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';
import type { GatewayConfig } from '../../config/schema.js';

export type { Logger };

/** JSON lines for machines; readable lines on a terminal. Synchronous pretty stream: no worker thread to leak. */
export function createLogger(cfg: GatewayConfig['log'], stream: NodeJS.WritableStream = process.stdout): Logger {
  const usePretty = cfg.format === 'pretty' || (cfg.format === 'auto' && (stream as NodeJS.WriteStream).isTTY === true);
  const base = { level: cfg.level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime };
  if (usePretty) return pino(base, pretty({ colorize: true, destination: stream as NodeJS.WritableStream, sync: true }));
  return pino(base, stream);
}
