import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CredentialBox } from '../../gateway/cameras/credentials.js';
import { FakeOnvifDevice } from '../cameras/fake-onvif/device.js';
import { FakeDiscovery } from '../cameras/fake-onvif/discovery.js';
import { BIN, requireBuilt } from '../helpers/bin.js';
import { tempDir } from '../helpers/gateway.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Async, unlike runBin: the fake responders live in this process and must keep answering while the bin runs. */
function run(args: string[], env: NodeJS.ProcessEnv = {}, input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  requireBuilt();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(input ?? '');
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('campus-gateway camera commands', () => {
  it('discover-cameras lists devices that answer the probe and marks the registered one', async () => {
    const d = new FakeOnvifDevice();
    await d.start();
    cleanups.push(() => d.stop());
    const disco = new FakeDiscovery([
      { urn: 'urn:uuid:aaaa', xaddr: `${d.url}/onvif/device_service`, scopes: ['onvif://www.onvif.org/mfr/Fakevision', 'onvif://www.onvif.org/hardware/FV-100'] },
      { urn: 'urn:uuid:bbbb', xaddr: 'http://127.0.0.1:9/onvif/device_service', scopes: ['onvif://www.onvif.org/hardware/Other'] },
    ]);
    await disco.start();
    cleanups.push(() => disco.stop());
    const dir = tempDir();
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'gateway.yaml');
    writeFileSync(file, `dataDir: ${dir}\ncameras:\n  cameras:\n    - { id: cam-gate, name: Gate, host: 127.0.0.1, port: ${d.port} }\n`);

    const json = await run(['discover-cameras', '--config', file, '--address', '127.0.0.1', '--port', String(disco.port), '--timeout', '500', '--json']);
    expect(json.code).toBe(0);
    const { items } = JSON.parse(json.stdout) as { items: { port: number; registered: boolean; cameraId: string | null; model: string }[] };
    expect(items.find((i) => i.port === d.port)).toMatchObject({ registered: true, cameraId: 'cam-gate', model: 'FV-100' });
    expect(items.find((i) => i.port === 9)).toMatchObject({ registered: false });

    const text = await run(['discover-cameras', '--config', file, '--address', '127.0.0.1', '--port', String(disco.port), '--timeout', '500']);
    expect(text.stdout).toMatch(/Fakevision FV-100.*registered as cam-gate/);
  });

  it('camera-password prints a passwordEnc the gateway can decrypt', async () => {
    const dir = tempDir();
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const key = 'a passphrase for camera secrets';
    const r = await run(['camera-password', 'cam-gate'], { CAMPUS_CAMERA_KEY: key, CAMPUS_DATA_DIR: dir }, 'hunter2\n');
    expect(r.code).toBe(0);
    const sealed = r.stdout.trim();
    expect(new CredentialBox(key).decrypt('cam-gate', sealed)).toBe('hunter2');
    const missing = await run(['camera-password', 'cam-gate'], { CAMPUS_CAMERA_KEY: '', CAMPUS_DATA_DIR: dir }, 'x\n');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/CAMPUS_CAMERA_KEY/);
  });
});
