/**
 * What `check-config` warns about in a valid config: the traps that let a gateway start and then not do what the school
 * expects (no one can sign in, flows off, a reader that cannot open its port, a data directory it cannot write, backups
 * on the same disk as the data).
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { GatewayConfig } from '../../config/schema.js';

function nearestExisting(dir: string): string {
  let d = resolve(dir);
  while (!existsSync(d) && dirname(d) !== d) d = dirname(d);
  return d;
}

function userCount(dataDir: string): number | null {
  const file = join(dataDir, 'gateway.db');
  if (!existsSync(file)) return 0;
  try {
    const db = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
    try {
      return (db.prepare('SELECT COUNT(*) AS n FROM users').get() as { n: number }).n;
    } finally {
      db.close();
    }
  } catch {
    return null; // unreadable here (another user's file) or no users table yet: nothing to say
  }
}

export function configWarnings(config: GatewayConfig): string[] {
  const out: string[] = [];
  const users = userCount(config.dataDir);
  if (users === 0) out.push(`no users in ${config.dataDir}: the gateway will not start until you add one (campus-gateway user add <name> --role admin)`);
  if (config.nodeRed.enabled && !config.nodeRed.credentialSecret) {
    out.push('nodeRed: Node-RED will be off: no credential secret (set CAMPUS_FLOW_SECRET or nodeRed.credentialSecret, at least 16 characters)');
  }
  config.readers.forEach((r, i) => {
    if (r.driver.type === 'serial' && !existsSync(r.driver.path)) {
      out.push(`readers[${i}].driver.path: ${r.driver.path} does not exist (is the adapter plugged in? ls /dev/serial/by-id/)`);
    }
  });
  const dataParent = nearestExisting(config.dataDir);
  if (!statSync(dataParent).isDirectory()) {
    out.push(`dataDir: ${config.dataDir} cannot be made: ${dataParent} is a file, not a directory`);
  } else {
    try {
      accessSync(dataParent, constants.W_OK);
    } catch {
      out.push(`dataDir: ${config.dataDir} is not writable by this user (${dataParent}); the gateway's service user must own it`);
    }
  }
  if (!config.backup.dir) out.push(`backup.dir: not set; backups go to ${join(config.dataDir, 'backups')}, on the same disk as the data`);
  return out;
}
