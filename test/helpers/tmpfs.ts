/** A real, small filesystem for a test: a tmpfs mounted in a mount namespace of the test's own (`unshare -rm`). */
import { spawnSync } from 'node:child_process';

/** Whether this kernel lets an unprivileged process mount a tmpfs on `dir` in a namespace of its own (no root needed). */
export function canMountTmpfs(dir: string): boolean {
  return spawnSync('unshare', ['-rm', 'sh', '-c', `mount -t tmpfs -o size=1m tmpfs "${dir}"`]).status === 0;
}
