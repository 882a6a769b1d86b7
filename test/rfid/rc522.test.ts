/**
 * The RC522 adapter against the real node-rfid package, with a fake `python` first on PATH standing in for
 * node-rfid's rfid-file.py (which needs a Raspberry Pi's SPI bus). node-rfid spawns `python`, writes "rfid" to
 * it and reads what it prints, so the fakes speak exactly that protocol.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseRc522Output } from '../../drivers/rfid/rc522-reader.js';
import { tempDir, waitFor } from '../helpers/gateway.js';
import { startReaders, type ReadersHarness } from './helpers.js';

const dir = tempDir('campus-rc522-');
const bin = join(dir, 'bin');
const empty = join(dir, 'empty');
const pidFile = join(dir, 'hung.pid');
const seenStdin = join(dir, 'stdin.txt');
const originalPath = process.env.PATH;

/** Installs the fake interpreter atomically, so a read in flight never runs half a script. */
function fakePython(script: string): void {
  const tmp = join(bin, '.python.tmp');
  writeFileSync(tmp, `#!/bin/sh\n${script}\n`);
  chmodSync(tmp, 0o755);
  renameSync(tmp, join(bin, 'python'));
}

// 0x56 ^ 0x30 ^ 0xF0 ^ 0x09 = 0x9F = 159: pirc522 prints the 4 UID bytes and their check byte.
// Appends: the reader polls again while the test reads the file, and `>` would truncate it under the test.
const CARD = `cat >> ${seenStdin}; printf '[86, 48, 240, 9, 159]'`;
const HANG = `echo $$ > ${pidFile}; exec sleep 600`;
const CRASH = `echo "ModuleNotFoundError: No module named 'RPi'" >&2; exit 1`;
const GARBLED = `printf '[86, 48, 240, 9, 1]'`; // wrong check byte

// node-rfid is an optional dependency (RC522 readers on a Raspberry Pi) but plain JavaScript with no build step:
// `npm ci` installs it everywhere and .ci/run checks that it did. Missing, these tests fail saying so rather than
// skip: a green run must mean the only RC522 path was driven.
const haveNodeRfid = existsSync(join(process.cwd(), 'node_modules', 'node-rfid', 'index.js'));

let h: ReadersHarness | undefined;

beforeAll(() => {
  mkdirSync(bin, { recursive: true });
  mkdirSync(empty, { recursive: true });
  // /bin stays on PATH for sh, cat, sleep; the fake comes first.
  process.env.PATH = `${bin}:/usr/bin:/bin`;
});
afterEach(async () => {
  await h?.close();
  h = undefined;
});
afterAll(() => {
  process.env.PATH = originalPath;
  rmSync(dir, { recursive: true, force: true });
});

const rc522 = (readTimeoutMs = 400) => ({
  readers: [{ id: 'pi-door', accessPoint: 'lab-1', debounceMs: 0, driver: { type: 'rc522' as const, pollIntervalMs: 20, readTimeoutMs, retryDelayMs: 200 } }],
});

// The fake interpreter is a POSIX shell script on PATH: no such thing on Windows.
describe.skipIf(process.platform === 'win32')('RC522 through node-rfid with a fake python on PATH (not applicable: Windows, the fake python is a sh script)', () => {
  // In each test, so each one fails with the reason (a failing beforeAll would count them as skipped).
  beforeEach(() => {
    if (!haveNodeRfid) throw new Error('node-rfid is not installed (optional dependency): run `npm ci`, which installs it; .ci/run checks it');
  });

  it('turns what python prints into a tap, having sent it "rfid"', async () => {
    fakePython(CARD);
    h = await startReaders(rc522());
    await waitFor(() => h!.taps.length >= 1);
    expect(h.taps[0]).toMatchObject({ readerId: 'pi-door', uid: '5630F009' });
    expect(readFileSync(seenStdin, 'utf8')).toMatch(/^(rfid)+$/);
    expect(h.module.reader('pi-door')).toMatchObject({ state: 'up', driver: 'rc522' });
    expect(await h.metric('campus_reader_rc522_reads_total', { reader: 'pi-door', outcome: 'card' })).toBeGreaterThanOrEqual(1);
  });

  it('kills a python that hangs, keeps reading, and takes the next card', async () => {
    rmSync(pidFile, { force: true });
    fakePython(HANG);
    h = await startReaders(rc522(300));
    const pid = Number(await waitFor(() => (existsSync(pidFile) ? readFileSync(pidFile, 'utf8').trim() : '')));
    // node-rfid's timeout kills it: no python left behind per read.
    await waitFor(() => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    });
    expect(h.taps).toHaveLength(0);
    fakePython(CARD);
    await waitFor(() => h!.taps.length >= 1, 10_000);
    expect(h.taps[0]!.uid).toBe('5630F009');
  });

  it('survives a python that exits non-zero before reading stdin, or prints a garbled read, and recovers', async () => {
    fakePython(CRASH);
    h = await startReaders(rc522(2000));
    // The crash is seen as such (exit code and stderr), not as "no card" after node-rfid's timeout.
    const down = await waitFor(() => (h!.module.reader('pi-door')?.state === 'down' ? h!.module.reader('pi-door') : undefined), 10_000);
    expect(down.detail).toMatch(/python exited with code 1: ModuleNotFoundError: No module named 'RPi'/);
    expect(h.module.health!().ok).toBe(false);
    expect(await h.metric('campus_reader_rc522_reads_total', { reader: 'pi-door', outcome: 'no_card' })).toBe(0);
    fakePython(GARBLED);
    await waitFor(() => (h!.module.reader('pi-door')!.counters.dropped.bad_output ?? 0) >= 1, 10_000);
    expect(h.taps).toHaveLength(0);
    fakePython(CARD);
    await waitFor(() => h!.taps.length >= 1, 15_000);
    expect(h.module.reader('pi-door')!.state).toBe('up');
  });

  it('is down with a clear reason, without crashing, when there is no python on PATH', async () => {
    process.env.PATH = empty;
    try {
      h = await startReaders(rc522());
      await waitFor(() => h!.module.reader('pi-door')?.state === 'down');
      expect(h.module.reader('pi-door')!.detail).toMatch(/python/);
    } finally {
      process.env.PATH = `${bin}:/usr/bin:/bin`;
    }
  });
});

describe('RC522 without node-rfid', () => {
  it('is down with the reason when the optional package cannot be loaded, and a second RC522 is refused', async () => {
    h = await startReaders(
      {
        readers: [
          { id: 'pi-1', accessPoint: 'lab-1', driver: { type: 'rc522' } },
          { id: 'pi-2', accessPoint: 'lab-1', driver: { type: 'rc522' } },
        ],
      },
      { loadNodeRfid: () => import('node-rfid-not-installed' as string) },
    );
    await waitFor(() => h!.module.reader('pi-1')?.state === 'down');
    expect(h.module.reader('pi-1')!.detail).toMatch(/node-rfid could not be loaded/);
    expect(h.module.reader('pi-2')).toMatchObject({ state: 'down', detail: expect.stringMatching(/only one RC522/) });
  });
});

describe('pirc522 output', () => {
  it('reads the list with its check byte, a 7-byte UID, and refuses the rest', () => {
    expect(parseRc522Output('[86, 48, 240, 9, 159]')).toBe('5630F009');
    expect(parseRc522Output('[86, 48, 240, 9, 158]')).toBeUndefined();
    expect(parseRc522Output('[4, 206, 254, 217, 161, 37, 128]')).toBe('04CEFED9A12580');
    expect(parseRc522Output('[300, 1, 2, 3, 4]')).toBeUndefined();
    expect(parseRc522Output('error')).toBeUndefined();
    expect(parseRc522Output('')).toBeUndefined();
  });
});
