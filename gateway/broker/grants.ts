import type { GatewayConfig } from '../../config/schema.js';
import type { Grants } from './acl.js';
import { topics } from '../core/topics.js';

export interface DeviceCredential {
  id: string;
  secretHash: string;
  grants: Grants;
}

const subtree = (prefix: string): Grants => ({ publish: [prefix, `${prefix}/#`], subscribe: [prefix, `${prefix}/#`] });

/**
 * A Zigbee2MQTT device's topics, not its name's subtree: names may hold "/", so `zb1/#` would be another device's
 * `zb1/leak` too. It publishes its state and availability; it is sent `set` and `get`, plain or per attribute.
 */
const zigbeeDevice = (name: string): Grants => {
  const base = `zigbee2mqtt/${name}`;
  return { publish: [base, `${base}/availability`], subscribe: [`${base}/set`, `${base}/set/+`, `${base}/get`, `${base}/get/+`] };
};

/** Devices that log in to the broker, each confined to its own topics (username = device id). */
export function deviceCredentials(config: GatewayConfig): DeviceCredential[] {
  const out: DeviceCredential[] = [];
  for (const r of config.readers) {
    if (r.driver.type === 'mqtt' && r.driver.secretHash) {
      // A terminal may also read the lost-card blocklist, which it needs to decide while the gateway is away.
      const own = subtree(topics.reader(r.id));
      out.push({ id: r.id, secretHash: r.driver.secretHash, grants: { ...own, subscribe: [...own.subscribe, topics.cardBlocklist] } });
    }
  }
  for (const s of config.sensors.sensors) {
    if (!s.secretHash) continue;
    const grants =
      s.source.type === 'zigbee2mqtt'
        ? zigbeeDevice(s.source.friendlyName)
        : s.source.type === 'tasmota'
          ? subtree(`tele/${s.source.device}`)
          : subtree(topics.sensor(s.id));
    out.push({ id: s.id, secretHash: s.secretHash, grants });
  }
  return out;
}
