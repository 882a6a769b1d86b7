/**
 * Ctrl-C in the terminal that runs the demo, and `kill -9`, as they reach the built gateway and its ffmpeg pulls.
 *
 * A terminal's Ctrl-C signals its whole foreground process group. With the pulls in the gateway's group, each ffmpeg
 * got the SIGINT too and exited on its own; whenever its exit was seen before the gateway had stopped the pull, the
 * gateway took it for a camera failure while shutting down ("live pull ended; retrying", once seen by a school IT
 * person on the demo's first Ctrl-C) and could start another ffmpeg. The pulls now run in process groups of their own
 * and are stopped by the gateway. The test makes the race certain: the gateway is held stopped (SIGSTOP) while the
 * group gets its SIGINT, so whatever else the SIGINT reaches has gone before the gateway runs again.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { awaitBanner, BIN, requireBuilt } from '../helpers/bin.js';
import { tempDir, waitFor } from '../helpers/gateway.js';

const children: ChildProcess[] = [];
const dirs: string[] = [];

afterAll(() => {
  for (const c of children) if (c.pid && c.exitCode === null && c.signalCode === null) process.kill(-c.pid, 'SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Proc {
  pid: number;
  comm: string;
  ppid: number;
  /** `Z` once it has exited and waits for its parent to reap it. */
  state: string;
}

/** Every process on the machine, from /proc (pid, name, state, parent). */
function processes(): Proc[] {
  const out: Proc[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const [state, ppid] = stat.slice(close + 2).split(' ');
      out.push({ pid: Number(name), comm: stat.slice(stat.indexOf('(') + 1, close), ppid: Number(ppid), state: state! });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Running, not a zombie: a stopped gateway cannot reap a child that has exited. */
const alive = (pid: number): boolean => processes().some((p) => p.pid === pid && p.state !== 'Z');

/** The demo, as a terminal starts it: the leader of a process group of its own (its foreground job). */
async function startDemo(): Promise<{ child: ChildProcess; pid: number; output: () => string; exited: Promise<number | null> }> {
  requireBuilt();
  const dataDir = tempDir('campus-ctrl-c-');
  dirs.push(dataDir);
  const child = spawn(process.execPath, [BIN, 'start', '--demo'], {
    env: { ...process.env, CAMPUS_DATA_DIR: dataDir, CAMPUS_HTTP_PORT: '0', CAMPUS_MQTT_PORT: '0', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  children.push(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const { output } = await awaitBanner(child, 90_000);
  return { child, pid: child.pid!, output, exited };
}

/**
 * The demo's camera pulls: ffmpeg processes whose parent is the gateway. The demo has four simulated cameras; a pull
 * that ended (a stall on a loaded machine) waits out its back-off before the next, and one clean-clone CI run never
 * saw all four at once in 30 s. Each pull is a case of what is tested, so those running after the first appeared count.
 */
async function pullsOf(demo: { pid: number; output: () => string }): Promise<Proc[]> {
  const running = (): Proc[] => processes().filter((p) => p.ppid === demo.pid && p.comm === 'ffmpeg');
  try {
    await waitFor(() => running().length > 0, 30_000);
  } catch (err) {
    throw new Error(`${(err as Error).message}: no camera pull; the gateway said:\n${demo.output().slice(-4000)}`, { cause: err });
  }
  await waitFor(() => running().length >= 4, 3_000).catch(() => {});
  return running();
}

describe('stopping the demo from its terminal', () => {
  it('Ctrl-C reaches the gateway alone: it stops its camera pulls itself, with no pull taken for a failure', async () => {
    const demo = await startDemo();
    const pulls = await pullsOf(demo);

    process.kill(demo.pid, 'SIGSTOP');
    try {
      process.kill(-demo.pid, 'SIGINT'); // what the terminal does on Ctrl-C
      // Whatever the SIGINT reached has had time to exit; the pulls are to be the gateway's to stop.
      await new Promise((r) => setTimeout(r, 1500));
      expect(pulls.filter((p) => !alive(p.pid)).map((p) => p.pid)).toEqual([]);
    } finally {
      process.kill(demo.pid, 'SIGCONT');
    }

    expect(await demo.exited).toBe(0);
    expect(demo.output()).toContain('stopped');
    expect(demo.output()).not.toContain('live pull ended');
    // None left behind, still pulling a camera.
    await waitFor(() => pulls.every((p) => !alive(p.pid)), 10_000);
  });

  it('after kill -9 of the gateway, its camera pulls end too', async () => {
    const demo = await startDemo();
    const pulls = await pullsOf(demo);
    process.kill(demo.pid, 'SIGKILL');
    await demo.exited;
    // Their output pipe has no reader any more: each ffmpeg ends at its next write.
    await waitFor(() => pulls.every((p) => !alive(p.pid)), 15_000);
  });
});
