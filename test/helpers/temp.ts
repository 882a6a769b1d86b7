/**
 * Temporary directories for tests. Each one is removed after its test file (test/helpers/temp-cleanup.ts, a vitest
 * setup file), whatever the test did with it: a crashed or killed gateway's data dir included. Without that a
 * full run left ~1,500 directories, some of them hundreds of megabytes, in /tmp.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];

export function tempDir(prefix = 'campus-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** Removes every directory `tempDir` made in this test file. */
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}
