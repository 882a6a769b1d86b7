/**
 * A reader on a serial port (USB-serial, RS-232/485 adapters, a Pi's UART). The port is opened through a
 * serialport binding: the platform's by default, `@serialport/binding-mock` in tests. When the port cannot be
 * opened, disappears (USB unplugged: the read fails and the stream closes) or errors, the reader goes down and
 * tries again every `reopenDelayMs`, until stopped; the state change is logged once, not every attempt.
 *
 * The binding's poller does not always report a hang-up (a pty whose other side exits, some USB adapters), so while
 * the port is up the device node is also checked once a second: when it vanishes, the port counts as lost.
 */
import { existsSync } from 'node:fs';
import { SerialPortStream } from '@serialport/stream';
import type { ReaderConfig } from '../../config/readers.js';
import { createFrameParser, DROP_REASONS, type FrameParser } from './framing/index.js';
import { ReaderBase, type ReaderHooks } from './types.js';

/** A serialport binding (the platform's, or MockBinding); typed through the stream so we need no extra package. */
export type SerialBinding = SerialPortStream['settings']['binding'];
type SerialDriver = Extract<ReaderConfig['driver'], { type: 'serial' }>;

export class SerialReader extends ReaderBase {
  readonly type = 'serial' as const;
  private readonly parser: FrameParser;
  private port: SerialPortStream | undefined;
  private timer: NodeJS.Timeout | undefined;
  private watch: NodeJS.Timeout | undefined;
  private running = false;
  private lastDrops: Record<string, number> = {};

  constructor(
    id: string,
    private readonly driver: SerialDriver,
    private readonly binding: SerialBinding,
    hooks: ReaderHooks,
    now: () => number,
  ) {
    super(id, hooks, now);
    this.parser = createFrameParser(driver.profile, driver.numberFormat);
  }

  async start(): Promise<void> {
    this.running = true;
    this.open();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
    clearInterval(this.watch);
    const port = this.port;
    this.port = undefined;
    if (port) await closeQuietly(port);
    this.setState('stopped');
  }

  /** Bytes and frames seen since start: what the API shows next to the drop counts. */
  noiseBytes(): number {
    return this.parser.noiseBytes;
  }

  private open(): void {
    if (!this.running) return;
    const { path, baudRate } = this.driver;
    let port: SerialPortStream;
    try {
      port = new SerialPortStream({ binding: this.binding, path, baudRate, autoOpen: false });
    } catch (err) {
      this.lost(`cannot open ${path}: ${message(err)}`);
      return;
    }
    this.port = port;
    port.on('data', (chunk: Buffer) => this.onData(chunk));
    port.on('error', (err: Error) => {
      if (this.port === port) this.lost(`${path}: ${err.message}`);
    });
    port.on('close', (err: Error | null) => {
      if (this.port === port) this.lost(err ? `${path} disconnected: ${err.message}` : `${path} closed`);
    });
    port.open((err) => {
      if (this.port !== port) {
        // Stopped (or replaced) while opening: let go of the port we just got.
        if (!err) void closeQuietly(port);
        return;
      }
      if (err) {
        this.lost(`cannot open ${path}: ${err.message}`);
        return;
      }
      // Half a frame from before the port went away will never be completed.
      this.parser.reset();
      this.setState('up', `${path} at ${baudRate} baud, ${this.driver.profile}`);
      // Only a real device node can be watched (test bindings open paths that are not files).
      if (existsSync(path)) {
        clearInterval(this.watch);
        this.watch = setInterval(() => {
          if (this.port === port && !existsSync(path)) this.lost(`${path} disappeared`);
        }, 1000);
        this.watch.unref?.();
      }
    });
  }

  private onData(chunk: Buffer): void {
    const reads = this.parser.push(chunk);
    for (const r of reads) this.hooks.tap({ readerId: this.id, uid: r.uid, at: this.now(), partial: r.partial || undefined });
    for (const reason of DROP_REASONS) {
      const n = this.parser.drops[reason];
      const delta = n - (this.lastDrops[reason] ?? 0);
      if (delta > 0) this.hooks.drop(reason, delta);
      this.lastDrops[reason] = n;
    }
  }

  /** The port is gone or never came: go down and try again later. */
  private lost(detail: string): void {
    const port = this.port;
    this.port = undefined;
    clearInterval(this.watch);
    if (port) {
      port.removeAllListeners('data');
      void closeQuietly(port);
    }
    if (!this.running) return;
    this.setState('down', detail);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.open(), this.driver.reopenDelayMs);
    this.timer.unref?.();
  }
}

function closeQuietly(port: SerialPortStream): Promise<void> {
  return new Promise((resolve) => {
    // A late 'error' from a port we are abandoning must not become an unhandled error event.
    port.on('error', () => {});
    if (!port.isOpen) return resolve();
    port.close(() => resolve());
  });
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));
