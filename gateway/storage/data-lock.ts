/**
 * `<dataDir>/gateway.pid`: which process runs a gateway on this data directory. A restore must not swap the database
 * under a running gateway, and two gateways on one directory would interleave their writes. A process that died
 * without cleaning up (kill -9, power cut) leaves a pid that no longer runs, which counts as free.
 */
import { lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export const PID_FILE = 'gateway.pid';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it runs, as another user (the service user, seen from an admin's shell without sudo).
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid of the live process holding the directory, or null. */
export function dataDirHolder(dataDir: string): number | null {
  let text: string;
  try {
    text = readFileSync(join(dataDir, PID_FILE), 'utf8');
  } catch {
    return null;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 && alive(pid) ? pid : null;
}

export class DataDirInUseError extends Error {
  readonly code = 'DATA_DIR_IN_USE';
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(`a gateway (pid ${pid}) is running on ${dataDir}; stop it first (sudo systemctl stop campus-gateway)`);
    this.name = 'DataDirInUseError';
  }
}

/**
 * Marks the directory as this process's; refuses one held by another live process. The same process may claim it again
 * (a test starting a second gateway after the first stopped). Returns the release function.
 */
export function claimDataDir(dataDir: string): () => void {
  const holder = dataDirHolder(dataDir);
  if (holder !== null && holder !== process.pid) throw new DataDirInUseError(dataDir, holder);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 }); // the gateway's alone from the start (storage/private-files.ts)
  const file = join(dataDir, PID_FILE);
  writeFileSync(file, `${process.pid}\n`);
  return () => {
    try {
      if (readFileSync(file, 'utf8').trim() === String(process.pid)) unlinkSync(file);
    } catch {
      // gone already
    }
  };
}

/**
 * A process's work in progress beside finished files (a backup's staging folder and half-written archive, a restore's
 * staging folder): named `<prefix><pid>@<host>~…`, so what a killed process of this host left is known by its pid no
 * longer running, and removed. It holds the database and pupils' pictures (hard links, which outlive the originals'
 * pruning). Work of another host or container (a shared backup folder: its pids are not ours to judge), or in an
 * older release's names (`legacy`), goes only once it is two days old: no backup or restore runs that long.
 */
export const workName = (prefix: string): string => `${prefix}${process.pid}@${hostname()}~`;

const STALE_MS = 2 * 86_400_000;

export function removeStaleWork(dir: string, prefix: string, legacy?: RegExp): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return; // no folder yet
  }
  for (const name of names) {
    const path = join(dir, name);
    const ours = name.startsWith(prefix) ? /^(\d+)@([^~]*)~/.exec(name.slice(prefix.length)) : null;
    let stale: boolean;
    if (ours && ours[2] === hostname()) {
      const pid = Number(ours[1]);
      stale = pid !== process.pid && !alive(pid);
    } else if (name.startsWith(prefix) || legacy?.test(name)) {
      stale = Date.now() - (lstatSync(path, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > STALE_MS;
    } else continue;
    if (stale) rmSync(path, { recursive: true, force: true });
  }
}
