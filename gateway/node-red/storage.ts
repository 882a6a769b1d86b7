/**
 * Node-RED's own file storage (`localfilesystem`), with every file it saves in the user dir made 0600. It writes
 * flows, flow credentials, its settings and its token store through a temp file and a rename, with the default
 * mode (0644 under the usual umask) and no option to change it; the user dir is 0700 as well, so nothing is
 * readable by other users even in the moment between the rename and the chmod.
 */
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { privateDir, privateFileIfExists, type Tightened } from '../storage/private-files.js';

type StorageModule = Record<string, unknown>;

/** Everything that writes files in the user dir: `init` writes package.json on a first start. */
const WRITES = ['init', 'saveFlows', 'saveCredentials', 'saveSettings', 'saveSessions'] as const;

/**
 * The user dir and the directories directly in it (context/, lib/, node_modules/) 0700, every file directly in it
 * 0600; returns what was looser before. Files deeper down (flow context) are behind those directories.
 */
export function privateUserDir(userDir: string): Tightened[] {
  const out: Tightened[] = [];
  const dir = privateDir(userDir);
  if (dir) out.push(dir);
  for (const entry of readdirSync(userDir, { withFileTypes: true })) {
    const path = join(userDir, entry.name);
    const t = entry.isFile() ? privateFileIfExists(path) : entry.isDirectory() ? privateDir(path) : null;
    if (t) out.push(t);
  }
  return out;
}

/** The storage module for `settings.storageModule`. */
export function privateStorage(userDir: string): StorageModule {
  // Resolved from node-red itself: its runtime is the one whose storage this must be.
  const require = createRequire(createRequire(import.meta.url).resolve('node-red'));
  const local = require('@node-red/runtime/lib/storage/localfilesystem') as StorageModule;
  const wrapped: StorageModule = { ...local };
  for (const name of WRITES) {
    const save = local[name];
    if (typeof save !== 'function') continue;
    wrapped[name] = async (...args: unknown[]): Promise<unknown> => {
      const result: unknown = await (save as (...a: unknown[]) => Promise<unknown>).apply(local, args);
      privateUserDir(userDir);
      return result;
    };
  }
  return wrapped;
}
