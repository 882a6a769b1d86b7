/**
 * A serial card reader on a real pseudo-terminal pair made by socat, read by the running gateway through the
 * platform serialport binding: bytes written at the "reader" end become taps, decisions and API state; killing
 * socat makes the port disappear (the gateway goes degraded), starting it again brings the reader back.
 * Needs socat (apt package `socat`; .ci/run installs it).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Tap } from '../../gateway/core/taps.js';
import { nextMessage, startTestGateway, tempDir, waitFor, type TestGateway } from '../helpers/gateway.js';

// socat makes the pseudo-terminal pair; .ci/run installs it (Debian package socat). Missing, the tests fail saying
// so instead of skipping: this is the only test of a real serial port.
const haveSocat = spawnSync('socat', ['-V']).status === 0;

const dir = tempDir('campus-pty-');
const gatewaySide = join(dir, 'ttyGATEWAY');
const readerSide = join(dir, 'ttyREADER');
let socat: ChildProcess | undefined;

async function startSocat(): Promise<void> {
  socat = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${gatewaySide}`, `pty,raw,echo=0,link=${readerSide}`], { stdio: 'ignore' });
  await waitFor(() => existsSync(gatewaySide) && existsSync(readerSide), 5000);
}

async function stopSocat(): Promise<void> {
  const p = socat;
  socat = undefined;
  if (!p || p.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    p.once('exit', () => resolve());
    p.kill('SIGTERM');
  });
}

/** What the card reader sends down its cable. */
function readerWrites(...chunks: string[]): void {
  const fd = openSync(readerSide, 'r+');
  try {
    for (const c of chunks) writeSync(fd, Buffer.from(c, 'latin1'));
  } finally {
    closeSync(fd);
  }
}

// Pseudo-terminals are POSIX: Windows has none.
describe.skipIf(process.platform === 'win32')('serial reader on a socat pseudo-terminal pair (not applicable: Windows, no ptys)', () => {
  let gw: TestGateway;
  const taps: Tap[] = [];

  // In each test, so each one fails with the reason (a failing beforeAll would count them as skipped).
  beforeEach(() => {
    if (!haveSocat) throw new Error('socat is not installed: `apt-get install socat` (.ci/run installs it)');
  });

  beforeAll(async () => {
    if (!haveSocat) return;
    await startSocat();
    gw = await startTestGateway({
      config: {
        readers: [
          {
            id: 'pty-gate',
            accessPoint: 'main-gate',
            direction: 'in',
            debounceMs: 1000,
            driver: { type: 'serial', path: gatewaySide, profile: 'ascii-line', numberFormat: 'hex', reopenDelayMs: 200 },
          },
        ],
      },
    });
    gw.ctx.bus.on('tap.received', (t) => taps.push(t));
  });

  afterAll(async () => {
    await gw?.close();
    await stopSocat();
    rmSync(dir, { recursive: true, force: true });
  });

  it('turns a line from the reader into a tap and a decision back to the reader', async () => {
    const token = await gw.login('viewer');
    await waitFor(async () => {
      const res = await gw.api('/api/v1/readers/pty-gate', { token });
      return res.status === 200 && ((await res.json()) as { state: string }).state === 'up';
    });
    const client = await gw.mqttClient();
    await client.subscribeAsync('campus/readers/pty-gate/decision');
    const decision = nextMessage(client, 'campus/readers/pty-gate/decision');
    // Split mid-line, as a UART delivers it; the demo student's card.
    readerWrites('0A1B', '2C3D\r\n');
    const msg = JSON.parse((await decision).payload.toString()) as { granted: boolean; reason: string };
    expect(msg).toMatchObject({ granted: true, reason: 'ok' });
    expect(taps.at(-1)).toMatchObject({ readerId: 'pty-gate', uid: '0A1B2C3D' });
  });

  it('goes down when the port disappears and comes back up with it', async () => {
    const token = await gw.login('viewer');
    await stopSocat();
    await waitFor(async () => (await gw.api('/healthz')).status === 503, 10_000);
    const health = (await (await gw.api('/healthz')).json()) as { components: Record<string, { ok: boolean; detail?: string }> };
    expect(health.components.readers).toMatchObject({ ok: false });
    expect(health.components.readers!.detail).toMatch(/pty-gate/);
    const down = (await (await gw.api('/api/v1/readers', { token })).json()) as { readers: { id: string; state: string; driver: string }[] };
    expect(down.readers.find((r) => r.id === 'pty-gate')).toMatchObject({ state: 'down', driver: 'serial' });

    await startSocat();
    await waitFor(async () => (await gw.api('/healthz')).status === 200, 10_000);
    const before = taps.length;
    readerWrites('04CEFED9A12580\r\n');
    await waitFor(() => taps.length > before, 5000);
    expect(taps.at(-1)).toMatchObject({ readerId: 'pty-gate', uid: '04CEFED9A12580' });
  });
});
