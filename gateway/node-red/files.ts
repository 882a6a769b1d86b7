/**
 * Node-RED's files in the data dir: the user directory, the flows file seeded from the palette's examples
 * (`flows/node-red-contrib-campus/examples/`),
 * and (demo mode only) a generated credential secret kept beside the flows it encrypts.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSecret } from '../auth/secrets.js';
import { packageInfo } from '../core/version.js';

export const FLOW_FILE = 'flows.json';
/** Where Node-RED keeps the flows' encrypted credentials: named after the flow file. */
export const CREDENTIALS_FILE = 'flows_cred.json';
const SECRET_FILE = '.credential-secret';

/** `flows/` of the installed package: found from the sources and from dist/ alike. */
export function flowsSourceDir(): string {
  return join(packageInfo().root, 'flows');
}

export function paletteDir(): string {
  return join(flowsSourceDir(), 'node-red-contrib-campus');
}

export function userDirOf(dataDir: string): string {
  return join(dataDir, 'node-red');
}

/**
 * The flows a school gets on day one: every file of the palette's `examples/` (one flow tab each, in name order).
 * The same files are Node-RED's Import ▸ Examples ▸ node-red-contrib-campus, so a school that deleted one takes it
 * back from there; one source, so the two cannot differ.
 */
export function defaultFlows(examplesDir = join(paletteDir(), 'examples')): unknown[] {
  return readdirSync(examplesDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .flatMap((f) => JSON.parse(readFileSync(join(examplesDir, f), 'utf8')) as unknown[]);
}

/** Writes the default flows in on the very first start; a flows file that exists is the school's own and is left alone. */
export function seedFlows(userDir: string, flows: unknown[] = defaultFlows()): boolean {
  mkdirSync(userDir, { recursive: true, mode: 0o700 });
  const target = join(userDir, FLOW_FILE);
  if (existsSync(target)) return false;
  writeFileSync(target, `${JSON.stringify(flows, null, 4)}\n`, { mode: 0o600 });
  chmodSync(target, 0o600); // whatever the umask
  return true;
}

export const SESSIONS_FILE = '.sessions.json';

/**
 * Empties Node-RED's own token store at start, created 0600. Editor tokens are gateway sessions now (auth.ts);
 * a token Node-RED minted itself (an older gateway did) knows only a username and would outlive a new password,
 * a lowered role or the user's removal. Returns how many were dropped.
 */
export function resetEditorSessions(userDir: string): number {
  const file = join(userDir, SESSIONS_FILE);
  let dropped = 0;
  if (existsSync(file)) {
    try {
      const old: unknown = JSON.parse(readFileSync(file, 'utf8'));
      dropped = typeof old === 'object' && old !== null ? Object.keys(old).length : 0;
    } catch {
      // corrupt: Node-RED would reset it too
    }
  }
  writeFileSync(file, '{}', { mode: 0o600 });
  chmodSync(file, 0o600);
  return dropped;
}

export type SecretSource = 'config' | 'generated' | 'stored';

/**
 * The secret that encrypts flow credentials. Configured (nodeRed.credentialSecret / CAMPUS_FLOW_SECRET) wins.
 * In demo mode a random one is generated once and stored in the user dir; outside demo mode there is none,
 * because a key generated behind the operator's back is lost with the disk and takes every stored credential with it.
 */
export function credentialSecret(
  userDir: string,
  configured: string | undefined,
  demo: boolean,
): { secret: string; source: SecretSource } | null {
  if (configured) return { secret: configured, source: 'config' };
  if (!demo) return null;
  const file = join(userDir, SECRET_FILE);
  if (existsSync(file)) {
    const stored = readFileSync(file, 'utf8').trim();
    if (stored.length >= 16) return { secret: stored, source: 'stored' };
  }
  mkdirSync(userDir, { recursive: true, mode: 0o700 });
  const secret = generateSecret(32);
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return { secret, source: 'generated' };
}
