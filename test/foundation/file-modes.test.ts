/**
 * Files with secrets or personal data are the gateway user's alone: the data dir is 0700 and the database (with its
 * WAL and shared memory), Node-RED's token store and credentials, and camera snapshots are 0600, also when an older
 * version left them readable by everyone. A real demo gateway with Node-RED (once per process: one gateway here).
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, tempDir, waitFor, type TestGateway } from '../helpers/gateway.js';

const mode = (path: string): string => (statSync(path).mode & 0o777).toString(8);

let gw: TestGateway;
const dataDir = tempDir();

beforeAll(async () => {
  // What an older version (or a careless umask) left behind: everything readable by every local user.
  chmodSync(dataDir, 0o755);
  mkdirSync(join(dataDir, 'node-red'), { mode: 0o755 });
  mkdirSync(join(dataDir, 'snapshots'), { mode: 0o755 });
  writeFileSync(join(dataDir, 'node-red', 'flows_cred.json'), '{}', { mode: 0o644 });
  writeFileSync(join(dataDir, 'gateway.db'), '', { mode: 0o644 });
  chmodSync(join(dataDir, 'gateway.db'), 0o644);
  gw = await startTestGateway({ dataDir, config: { nodeRed: { enabled: true } } });
});

afterAll(async () => {
  await gw?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('file modes in the data dir', () => {
  it('tightens an existing data dir to 0700 and its database, WAL and shared memory to 0600', async () => {
    await gw.login('admin'); // a write, so the WAL holds something
    expect(mode(dataDir)).toBe('700');
    expect(mode(join(dataDir, 'gateway.db'))).toBe('600');
    expect(mode(join(dataDir, 'gateway.db-wal'))).toBe('600');
    expect(mode(join(dataDir, 'gateway.db-shm'))).toBe('600');
  });

  it("keeps Node-RED's directory 0700 and its token store and credentials 0600, also after a deploy rewrites them", async () => {
    const dir = join(dataDir, 'node-red');
    expect(mode(dir)).toBe('700');
    expect(mode(join(dir, '.sessions.json'))).toBe('600');
    expect(mode(join(dir, 'flows_cred.json'))).toBe('600');
    // A flow with a credential: Node-RED writes flows_cred.json anew (temp file and rename).
    const token = await gw.login('admin');
    const flows = [
      { id: 'eeee000000000001', type: 'tab', label: 'creds' },
      { id: 'eeee000000000002', type: 'mqtt-broker', name: 'city', broker: '127.0.0.1', port: '1', credentials: { user: 'u', password: 'p' } },
    ];
    const res = await gw.api('/flows/flows', { method: 'POST', token, json: flows, headers: { 'Node-RED-Deployment-Type': 'full' } });
    expect(res.status).toBeLessThan(300);
    const cred = join(dir, 'flows_cred.json');
    await waitFor(() => existsSync(cred) && statSync(cred).size > 2);
    expect(mode(cred)).toBe('600');
    expect(mode(join(dir, 'flows.json'))).toBe('600');
  });

  it('stores camera snapshots 0600 in a 0700 directory', async () => {
    const token = await gw.login('security');
    const res = await gw.api('/api/v1/cameras/cam-canteen/snapshot?fresh=1', { token });
    expect(res.status).toBe(200);
    const dir = join(dataDir, 'snapshots');
    expect(mode(dir)).toBe('700');
    const files = readdirSync(dir).filter((f) => f.endsWith('.jpg'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) expect(mode(join(dir, f))).toBe('600');
  });
});
