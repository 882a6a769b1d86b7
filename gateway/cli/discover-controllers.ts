/**
 * `campus-gateway discover-controllers`: broadcasts get-controller (UHPPOTE/WeiGeng) and lists every controller that
 * answers: serial, IP, firmware, and whether `controllers.devices` has it (and at that address).
 */
import type { Command } from 'commander';
import { hostPort } from '../../config/controllers.js';
import type { GatewayConfig } from '../../config/schema.js';
import { UhppoteClient } from '../../drivers/controllers/uhppote/client.js';
import { commandConfig, configOption, reportAndExit } from './common.js';

export interface DiscoveredController {
  serial: number;
  address: string;
  netmask: string;
  gateway: string;
  mac: string;
  firmware: string;
  released: string;
  /** The configured device with this serial, if any. */
  deviceId: string | null;
  /** Configured, but at another address than the one it answered from. */
  addressMismatch: boolean;
}

export async function discoverControllers(
  config: GatewayConfig,
  opts: { broadcast?: string; bind?: string; waitMs?: number } = {},
): Promise<DiscoveredController[]> {
  const target = hostPort(opts.broadcast ?? config.controllers.broadcast, 60000);
  // Bind to a real local address where one is given: on a box with several interfaces a socket bound to 0.0.0.0 may
  // broadcast out of the wrong one (uhppoted FAQ).
  const client = new UhppoteClient({ bindHost: opts.bind ?? hostPort(config.controllers.listen, 60001).host, timeoutMs: 1000, retries: 0 });
  await client.start();
  try {
    const found = await client.broadcast(target.host, target.port, opts.waitMs ?? 2000);
    return found
      .map(({ serial, from, reply }) => {
        const dev = config.controllers.devices.find((d) => d.serial === serial);
        return {
          serial, address: reply.address, netmask: reply.netmask, gateway: reply.gateway, mac: reply.mac, firmware: reply.version, released: reply.released,
          deviceId: dev?.id ?? null,
          addressMismatch: dev !== undefined && hostPort(dev.address, 60000).host !== from,
        };
      })
      .sort((x, y) => x.serial - y.serial);
  } finally {
    await client.stop();
  }
}

export function registerDiscoverControllers(program: Command): void {
  program
    .command('discover-controllers')
    .description('find UHPPOTE/WeiGeng door controllers on the local network (UDP broadcast) and show which are configured')
    .addOption(configOption())
    .option('--broadcast <ip:port>', 'where to broadcast (default controllers.broadcast, 255.255.255.255:60000)')
    .option('--bind <ip>', 'the local address to send from (default: the host of controllers.listen)')
    .option('--timeout <ms>', 'how long to wait for answers', '2000')
    .option('--json', 'print JSON')
    .action(async (opts: { config?: string; broadcast?: string; bind?: string; timeout: string; json?: boolean }) => {
      try {
        const config = commandConfig(opts);
        const found = await discoverControllers(config, { broadcast: opts.broadcast, bind: opts.bind, waitMs: Number(opts.timeout) });
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ items: found }, null, 2)}\n`);
          return;
        }
        if (found.length === 0) process.stdout.write('no controller answered (same network segment? UDP 60000 open?)\n');
        for (const f of found) {
          const reg = f.deviceId ? `registered as ${f.deviceId}${f.addressMismatch ? ' (at another address in the config)' : ''}` : 'not registered';
          process.stdout.write(`${String(f.serial).padEnd(12)} ${f.address.padEnd(16)} ${f.firmware.padEnd(7)} ${f.mac}  ${reg}\n`);
        }
      } catch (err) {
        reportAndExit(err);
      }
    });
}
