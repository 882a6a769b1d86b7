/**
 * Files only the gateway's own user may read: the data dir and its directories 0700, files with secrets or
 * personal data (the database and its WAL and shared memory, Node-RED's token store and credentials, camera
 * snapshots) 0600. Modes are set explicitly where each file is made, not through the process umask: the umask is
 * process-wide (Node-RED, libraries and child processes would inherit it) and says nothing about files an older
 * version left behind, which are tightened at start instead.
 */
import { chmodSync, closeSync, lstatSync, mkdirSync, openSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** What a tightening changed: the path and its mode before, for the log. */
export interface Tightened {
  path: string;
  was: string;
}

const octal = (mode: number): string => `0${(mode & 0o7777).toString(8)}`;

function tighten(path: string, wanted: number): Tightened | null {
  let current: number;
  try {
    current = statSync(path).mode & 0o7777; // set-id bits too
  } catch {
    return null; // not there (yet)
  }
  if ((current & ~wanted) === 0) return null; // already as tight (or tighter)
  chmodSync(path, wanted);
  return { path, was: octal(current) };
}

/** Creates `dir` (and missing parents) 0700, or tightens it to 0700 if it exists with looser bits. */
export function privateDir(dir: string): Tightened | null {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  return tighten(dir, PRIVATE_DIR_MODE);
}

/** Tightens an existing file to 0600; a missing one is left missing. */
export function privateFileIfExists(file: string): Tightened | null {
  return tighten(file, PRIVATE_FILE_MODE);
}

/** Creates an empty file 0600 if it is missing (never truncates), or tightens an existing one. */
export function privateFile(file: string): Tightened | null {
  closeSync(openSync(file, 'a', PRIVATE_FILE_MODE));
  return tighten(file, PRIVATE_FILE_MODE);
}

/**
 * Sets every folder under `dir` (and `dir`) to 0700 and every file to 0600, whatever they were: for what came from
 * outside, such as a restored archive, whose modes are the archive's say (0644, 0777, set-id bits).
 */
export function privateTree(dir: string): void {
  chmodSync(dir, PRIVATE_DIR_MODE);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) privateTree(full);
    else if (!lstatSync(full).isSymbolicLink()) chmodSync(full, PRIVATE_FILE_MODE);
  }
}
