/**
 * `campus-gateway discover-cameras`: a WS-Discovery probe from the command line, marking which cameras are
 * registered already; and `campus-gateway camera-password`: encrypts a camera password for `passwordEnc`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type { Command } from 'commander';
import { deviceId } from '../../config/common.js';
import { CredentialBox } from '../cameras/credentials.js';
import { markRegistered } from '../cameras/module.js';
import { createCameraDriver } from '../compose.js';
import { commandConfig, configOption, demoOption, readSecret, reportAndExit } from './common.js';

/** Cameras from the config and, when the gateway has run here, those added through the API. */
function registeredCameras(config: ReturnType<typeof commandConfig>): { id: string; host: string; port: number }[] {
  const out = config.cameras.cameras.map((c) => ({ id: c.id, host: c.host, port: c.port }));
  const file = join(config.dataDir, 'gateway.db');
  if (!existsSync(file)) return out;
  try {
    const db = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
    try {
      out.push(...(db.prepare('SELECT id, host, port FROM cameras').all() as { id: string; host: string; port: number }[]));
    } finally {
      db.close();
    }
  } catch {
    // no cameras table yet: only the config's cameras count
  }
  return out;
}

export function registerDiscoverCameras(program: Command): void {
  program
    .command('discover-cameras')
    .description('find ONVIF cameras on the local network (WS-Discovery) and show which are registered')
    .addOption(configOption())
    .addOption(demoOption())
    .option('--address <ip>', 'send the probe here instead of cameras.discovery.address (multicast 239.255.255.250)')
    .option('--port <n>', 'UDP port (default cameras.discovery.port, 3702)')
    .option('--timeout <ms>', 'how long to wait for answers')
    .option('--json', 'print JSON')
    .action(async (opts: { config?: string; demo?: boolean; address?: string; port?: string; timeout?: string; json?: boolean }) => {
      try {
        const config = commandConfig(opts);
        const d = config.cameras.discovery;
        let invalid = 0;
        const devices = await createCameraDriver().discover({
          address: opts.address ?? d.address,
          port: opts.port ? Number(opts.port) : d.port,
          timeoutMs: opts.timeout ? Number(opts.timeout) : d.timeoutMs,
          onInvalid: () => invalid++,
        });
        const found = markRegistered(devices, registeredCameras(config));
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ items: found, invalidReplies: invalid }, null, 2)}\n`);
          return;
        }
        if (found.length === 0) {
          process.stdout.write('no ONVIF cameras answered (is ONVIF/discovery enabled on them, and are they on this network segment?)\n');
        }
        for (const f of found) {
          const where = f.host ? `${f.host}:${f.port ?? 80}` : f.address;
          const what = [f.manufacturer, f.model].filter(Boolean).join(' ') || 'unknown model';
          const reg = f.registered ? `registered as ${f.cameraId}` : 'not registered';
          process.stdout.write(`${where.padEnd(22)} ${what.padEnd(28)} ${(f.name ?? '').padEnd(20)} ${reg}\n`);
        }
        if (invalid) process.stderr.write(`${invalid} reply(ies) were not valid ONVIF ProbeMatches and were ignored\n`);
      } catch (err) {
        reportAndExit(err);
      }
    });

  program
    .command('camera-password')
    .description("encrypt a camera's password for cameras[].passwordEnc (password from stdin or a prompt; needs cameras.secretKey or CAMPUS_CAMERA_KEY)")
    .argument('<camera-id>')
    .addOption(configOption())
    .action(async (cameraId: string, opts: { config?: string }) => {
      try {
        const id = deviceId.parse(cameraId);
        const config = commandConfig(opts);
        if (!config.cameras.secretKey) throw new Error('set cameras.secretKey in the config or CAMPUS_CAMERA_KEY first');
        const password = await readSecret(`password for camera ${id}: `);
        if (!password) throw new Error('empty password');
        process.stdout.write(`${new CredentialBox(config.cameras.secretKey).encrypt(id, password)}\n`);
      } catch (err) {
        reportAndExit(err);
      }
    });
}
