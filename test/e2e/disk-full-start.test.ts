/**
 * A gateway stopped and started again on a full disk still opens the gates. The built gateway runs on a real, small
 * filesystem (a 80 MiB tmpfs mounted in a mount namespace of this test's own: `unshare -rm`, no root needed where the
 * kernel allows user namespaces): a first start makes its disk reserve (gateway/storage/disk-reserve.ts), it is stopped,
 * a file fills the disk to the last byte, and a second start must come up and decide a tap. Before the reserve, the
 * second start ended in `ENOSPC` (the pid mark) and then "disk I/O error" (SQLite's -wal and -shm files).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { packageInfo } from '../../gateway/core/version.js';
import { awaitBanner } from '../helpers/bin.js';
import { nextMessage, tempDir } from '../helpers/gateway.js';
import { canMountTmpfs } from '../helpers/tmpfs.js';

const ROOT = packageInfo().root;
const BIN = join(ROOT, 'dist/gateway/cli/main.js');
const work = tempDir('campus-disk-full-start-');
const mnt = join(work, 'disk');
mkdirSync(mnt);
const children: ChildProcess[] = [];

const canMount = canMountTmpfs(mnt);

// Inside the namespace: mount, first start until the reserve is made, stop, fill the disk, start again (exec, so the
// child is that gateway). The first run's log and the disk's state go to files beside the mount point.
const SCRIPT = `
set -e
mount -t tmpfs -o size=80m tmpfs "$MNT"
"$NODE" "$BIN" start --demo > "$WORK/first.log" 2>&1 &
pid=$!
i=0
until grep -q 'kept space on the disk' "$WORK/first.log" && grep -q 'is running' "$WORK/first.log"; do
  i=$((i+1)); if [ $i -gt 900 ] || ! kill -0 $pid 2>/dev/null; then kill $pid 2>/dev/null; exit 3; fi; sleep 0.1
done
kill -TERM $pid; wait $pid || true
cat /dev/zero > "$MNT/filler" 2>/dev/null || true
df -k "$MNT" | tail -1 > "$WORK/full.df"
exec "$NODE" "$BIN" start --demo
`;

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!canMount)('a start on a full disk (not applicable: this kernel refuses unprivileged mount namespaces)', () => {
  it('deletes its disk reserve, starts and answers a tap', async () => {
    const child = spawn('unshare', ['-rm', 'sh', '-c', SCRIPT], {
      cwd: ROOT,
      env: { ...process.env, MNT: mnt, WORK: work, NODE: process.execPath, BIN, CAMPUS_DATA_DIR: join(mnt, 'data'), CAMPUS_HTTP_PORT: '0', CAMPUS_MQTT_PORT: '0', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const firstRun = (): string => {
      try {
        return `\nfirst run:\n${readFileSync(join(work, 'first.log'), 'utf8').slice(-2000)}`;
      } catch {
        return ''; // no first run
      }
    };
    const urls = await awaitBanner(child, 110_000, firstRun);
    // The disk was full when the second start began.
    const [, , , available] = readFileSync(join(work, 'full.df'), 'utf8').trim().split(/\s+/);
    expect(Number(available)).toBe(0);
    expect(urls.output()).toContain('deleted the disk reserve to start');

    const client = await mqtt.connectAsync(urls.mqttUrl, { reconnectPeriod: 0, connectTimeout: 5000 });
    try {
      await client.subscribeAsync('campus/readers/demo-gate-in/decision', { qos: 1 });
      const answer = nextMessage(client, 'campus/readers/demo-gate-in/decision', 10_000);
      // The demo student: granted or refused by the hour of the demo gate's timetable, decided either way.
      await client.publishAsync('campus/readers/demo-gate-in/tap', JSON.stringify({ uid: '0A1B2C3D', seq: 1 }), { qos: 1 });
      const decision = JSON.parse((await answer).payload.toString()) as { granted: boolean; reason: string; tapId: string };
      expect(decision.tapId).toMatch(/^[0-9A-Z]{26}$/);
      expect(typeof decision.granted).toBe('boolean');
      const health = (await (await fetch(new URL('/healthz', urls.httpUrl))).json()) as { components: Record<string, { ok: boolean }> };
      expect(health.components.broker?.ok).toBe(true);
    } finally {
      await client.endAsync(true);
      child.kill('SIGINT');
      await exited;
    }
  });
});
