/**
 * Mosquitto for the benchmarks that need a real third-party broker (the city's, in `sync`). Every other server a
 * benchmark starts binds port 0 itself and reports the port it got (bench/_children.ts); Mosquitto cannot (its
 * `listener 0` means a Unix socket), so it is given a port and the run checks that Mosquitto itself bound it:
 * it waits for Mosquitto's own "running" line, and if the port was taken in between (Mosquitto exits, "Address
 * already in use") it tries another. No client connects before that, so nothing ever talks to a stranger's socket.
 */
import { writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { sleep, spawnProgram, stopChild, type Child } from './_children.js';

/** A loopback port the kernel had free a moment ago; only a candidate, see above. */
function candidatePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export interface Mosquitto {
  child: Child;
  port: number;
  stop(): Promise<void>;
}

/** Starts Mosquitto (no persistence, anonymous) on a loopback port it bound itself; config written into `dir`. */
export async function startMosquitto(dir: string, attempts = 5): Promise<Mosquitto> {
  let last = '';
  for (let attempt = 0; attempt < attempts; attempt++) {
    const port = await candidatePort();
    const conf = join(dir, 'mosquitto.conf');
    // stderr, not stdout: Mosquitto block-buffers stdout into a pipe, and its "running" line (level information) would come only at exit.
    // `user`: started as root (containers) Mosquitto would switch to the user `mosquitto`; this keeps the current one.
    const lines = [`listener ${port} 127.0.0.1`, `user ${userInfo().username}`, 'allow_anonymous true', 'persistence false', 'log_dest stderr', 'log_type error', 'log_type warning', 'log_type notice', 'log_type information'];
    writeFileSync(conf, `${lines.join('\n')}\n`);
    const child = spawnProgram('mosquitto', ['-c', conf]);
    const end = Date.now() + 10_000;
    while (!child.gone() && !/ running/.test(child.output()) && Date.now() < end) await sleep(20);
    if (!child.gone() && / running/.test(child.output())) return { child, port, stop: async () => void (await stopChild(child)) };
    last = child.output();
    await stopChild(child);
  }
  throw new Error(`mosquitto did not start after ${attempts} attempts:\n${last}`);
}
