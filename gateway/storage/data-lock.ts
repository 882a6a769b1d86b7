/**
 * `<dataDir>/gateway.pid`: which process runs a gateway on this data directory. A restore must not swap the database
 * under a running gateway, and two gateways on one directory would interleave their writes. A process that died
 * without cleaning up (kill -9, power cut) leaves a pid that no longer runs, which counts as free.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
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
 * staging folder): named `<prefix><pid>-…`, so what a killed process left is known by its pid no longer running, and
 * removed. It holds the database and pupils' pictures (hard links, which outlive the originals' pruning).
 */
export const workName = (prefix: string): string => `${prefix}${process.pid}-`;

export function removeStaleWork(dir: string, prefix: string): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return; // no folder yet
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(/^(\d+)-/.exec(name.slice(prefix.length))?.[1]);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || alive(pid)) continue;
    rmSync(join(dir, name), { recursive: true, force: true });
  }
}
