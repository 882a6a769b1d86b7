/**
 * An MFRC522 reader on a Raspberry Pi's SPI bus through the optional `node-rfid` package.
 *
 * What node-rfid does (read its index.js): every read spawns `python <node-rfid>/rc522/rfid-file.py` — the
 * command name `python`, looked up on PATH, with no way to choose another — writes "rfid" to its stdin and
 * calls back with the first chunk of stdout: the pirc522 anticollision result printed as a Python list,
 * `[86, 48, 240, 9, 159]` (4 UID bytes and their XOR check byte), or `error`. `readintime(ms)` kills the
 * process after `ms` and calls back with "timeout".
 *
 * It attaches no 'error' listener to the child or its stdin: a missing `python` (ENOENT) or a python that exits
 * before reading stdin (EPIPE: an `import RPi.GPIO` that fails) would be an uncaught exception and take the
 * gateway down. So we load node-rfid's own index.js with a `child_process` whose `spawn` adds those listeners
 * and lets us watch each child (exit code, the tail of stderr): its errors become this reader's state, and a
 * crashed python is reported as such instead of looking like "no card". The module is loaded only when an
 * rc522 reader is configured; every read also has our own guard timeout beyond node-rfid's, a callback that
 * comes twice is ignored, and nothing it throws escapes.
 */
import * as childProcess from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { compileFunction } from 'node:vm';
import { normalizeUid } from '../../gateway/core/card-number.js';
import type { ReaderConfig } from '../../config/readers.js';
import { ReaderBase, type ReaderHooks } from './types.js';

type Rc522Driver = Extract<ReaderConfig['driver'], { type: 'rc522' }>;

export interface NodeRfid {
  readintime(ms: number, callback: (err: Error | null, result?: string) => void): void;
}

export type Rc522Outcome = 'card' | 'no_card' | 'error' | 'bad_output' | 'hung' | 'no_python';

/** Loads node-rfid; `watch` sees every child process it spawns, synchronously, before node-rfid uses it. */
export type NodeRfidLoader = (watch: (child: ChildProcess) => void) => Promise<NodeRfid>;

export const loadNodeRfid: NodeRfidLoader = async (watch) => {
  const require = createRequire(import.meta.url);
  const file = require.resolve('node-rfid');
  const source = await readFile(file, 'utf8');
  const contained = {
    ...childProcess,
    spawn(command: string, args: readonly string[] = []): ChildProcess {
      const child = childProcess.spawn(command, args);
      child.on('error', () => {});
      child.stdin?.on('error', () => {});
      watch(child);
      return child;
    },
  };
  // The same wrapper Node's CommonJS loader uses, with our child_process in place of the real one.
  const run = compileFunction(source, ['exports', 'require', 'module', '__filename', '__dirname'], { filename: file });
  const mod: { exports: unknown } = { exports: {} };
  const localRequire = (id: string): unknown => (id === 'child_process' ? contained : require(id));
  run(mod.exports, localRequire, mod, file, dirname(file));
  const api = mod.exports as Partial<NodeRfid>;
  if (typeof api.readintime !== 'function') throw new Error('node-rfid has no readintime()');
  return api as NodeRfid;
};

/** Parses what rfid-file.py prints: `[b0, b1, b2, b3, check]`, or a 7-byte list. */
export function parseRc522Output(text: string): string | undefined {
  const m = /^\s*\[\s*(\d{1,3}(?:\s*,\s*\d{1,3})*)\s*\]\s*$/.exec(text);
  if (!m) return undefined;
  const bytes = m[1]!.split(',').map((s) => Number(s.trim()));
  if (bytes.some((b) => b > 255)) return undefined;
  let uid = bytes;
  if (bytes.length === 5) {
    // pirc522 returns the 4 UID bytes and their XOR (BCC); a mismatch means a garbled read.
    const bcc = bytes.slice(0, 4).reduce((a, b) => a ^ b, 0);
    if (bcc !== bytes[4]) return undefined;
    uid = bytes.slice(0, 4);
  }
  const hex = Buffer.from(uid).toString('hex');
  const n = normalizeUid(hex);
  return n.ok ? n.value : undefined;
}

/** Extra time we give node-rfid's own timeout before we stop waiting for its callback. */
const GUARD_MS = 2000;
/** Consecutive failed reads before the reader counts as down. */
const DOWN_AFTER = 3;

export class Rc522Reader extends ReaderBase {
  readonly type = 'rc522' as const;
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  /** Watches the child of the read in flight (reads are sequential). */
  private watchChild: ((child: ChildProcess) => void) | undefined;
  readonly outcomes: Record<Rc522Outcome, number> = { card: 0, no_card: 0, error: 0, bad_output: 0, hung: 0, no_python: 0 };

  constructor(
    id: string,
    private readonly driver: Rc522Driver,
    hooks: ReaderHooks,
    now: () => number,
    private readonly load: NodeRfidLoader = loadNodeRfid,
    private readonly onOutcome: (o: Rc522Outcome) => void = () => {},
  ) {
    super(id, hooks, now);
  }

  async start(): Promise<void> {
    let rfid: NodeRfid;
    try {
      rfid = await this.load((child) => this.watchChild?.(child));
    } catch (err) {
      this.setState('down', `node-rfid could not be loaded (it is an optional dependency): ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    this.running = true;
    this.loop = this.run(rfid);
  }

  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    this.wake?.();
    // The read in flight ends by node-rfid's own timeout (it kills python) or our guard.
    await this.loop;
    this.setState('stopped');
  }

  private async run(rfid: NodeRfid): Promise<void> {
    while (this.running) {
      const outcome = await this.readOnce(rfid);
      this.outcomes[outcome.kind]++;
      this.onOutcome(outcome.kind);
      if (!this.running) break;
      switch (outcome.kind) {
        case 'card':
          this.failures = 0;
          this.setState('up', 'reading');
          this.hooks.tap({ readerId: this.id, uid: outcome.uid, at: this.now() });
          break;
        case 'no_card':
          this.failures = 0;
          this.setState('up', 'reading');
          break;
        case 'no_python':
          this.setState('down', 'node-rfid runs `python` from PATH and there is none (on Raspberry Pi OS: apt install python-is-python3)');
          break;
        default:
          this.hooks.drop(outcome.kind);
          if (++this.failures >= DOWN_AFTER) this.setState('down', `${this.failures} failed reads in a row, last: ${outcome.detail}`);
      }
      const wait = outcome.kind === 'no_python' || this.failures >= DOWN_AFTER ? this.driver.retryDelayMs : this.driver.pollIntervalMs;
      await this.sleep(wait);
    }
  }

  private readOnce(rfid: NodeRfid): Promise<{ kind: 'card'; uid: string } | { kind: Exclude<Rc522Outcome, 'card'>; detail: string }> {
    return new Promise((resolve) => {
      let settled = false;
      const guard = setTimeout(() => {
        settled = true;
        resolve({ kind: 'hung', detail: `no answer from node-rfid within ${this.driver.readTimeoutMs + GUARD_MS} ms` });
      }, this.driver.readTimeoutMs + GUARD_MS);
      const done = (r: Parameters<typeof resolve>[0]): void => {
        if (settled) return; // node-rfid calls back once per stdout chunk, and its timer fires after a crash too
        settled = true;
        clearTimeout(guard);
        this.watchChild = undefined;
        resolve(r);
      };
      this.watchChild = (child) => {
        let stderr = '';
        child.stderr?.on('data', (d: Buffer) => {
          stderr = (stderr + d.toString('utf8')).slice(-400);
        });
        child.on('error', (err: NodeJS.ErrnoException) => {
          if (err.code === 'ENOENT') done({ kind: 'no_python', detail: err.message });
          else done({ kind: 'error', detail: `cannot run python: ${err.message}` });
        });
        // 'close' comes after stdout is drained, so a card printed before a non-zero exit has been seen first.
        child.on('close', (code) => {
          if (code !== null && code !== 0) {
            const last = stderr.trim().split('\n').pop()?.trim();
            done({ kind: 'error', detail: `python exited with code ${code}${last ? `: ${last.slice(0, 200)}` : ''}` });
          }
        });
      };
      try {
        rfid.readintime(this.driver.readTimeoutMs, (err, result) => {
          try {
            if (err) return done({ kind: 'error', detail: err.message });
            const text = String(result ?? '').trim();
            if (text === 'timeout') return done({ kind: 'no_card', detail: 'no card' });
            if (text === 'error') return done({ kind: 'error', detail: 'the reader reported an error' });
            const uid = parseRc522Output(text);
            if (!uid) return done({ kind: 'bad_output', detail: `unreadable output ${JSON.stringify(text.slice(0, 60))}` });
            done({ kind: 'card', uid });
          } catch (e) {
            done({ kind: 'error', detail: e instanceof Error ? e.message : String(e) });
          }
        });
      } catch (err) {
        done({ kind: 'error', detail: err instanceof Error ? err.message : String(err) });
      }
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, ms);
    });
  }
}
