/**
 * Broadcasts get-controller (UHPPOTE/WeiGeng) and lists every controller that answers: serial, IP, firmware, and
 * whether `controllers.devices` has it (and at that address). Used by `campus-gateway discover-controllers`.
 */
import { hostPort } from '../../../config/controllers.js';
import type { GatewayConfig } from '../../../config/schema.js';
import { UhppoteClient } from './client.js';

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
