import { z } from 'zod';
import { deviceId, localizedName } from './common.js';

const IPV4 = '(?:25[0-5]|2[0-4]\\d|1?\\d?\\d)(?:\\.(?:25[0-5]|2[0-4]\\d|1?\\d?\\d)){3}';
const PORT = '(?:6553[0-5]|655[0-2]\\d|65[0-4]\\d\\d|6[0-4]\\d{3}|[1-5]?\\d{1,4})';

/** "a.b.c.d:port" (port required). */
export const ipPort = z.string().regex(new RegExp(`^${IPV4}:${PORT}$`), 'an IPv4 address and port, e.g. "192.168.1.10:60001"');
/** "a.b.c.d" or "a.b.c.d:port" (a controller: port 60000 when left out). */
export const ipMaybePort = z.string().regex(new RegExp(`^${IPV4}(?::${PORT})?$`), 'an IPv4 address with an optional port, e.g. "192.168.1.150" or "192.168.1.150:60000"');

/** Splits "host:port", with a default port. */
export function hostPort(s: string, defaultPort: number): { host: string; port: number } {
  const i = s.lastIndexOf(':');
  return i < 0 ? { host: s, port: defaultPort } : { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
}

export const controllerDoorConfig = z.strictObject({
  accessPoint: deviceId.meta({ description: 'The access point this door\'s reader serves.' }),
  direction: z.enum(['in', 'out']).optional()
    .meta({ description: 'For gates and turnstiles: which way a person passes when swiping at this door\'s reader.' }),
  name: localizedName.optional()
    .meta({ description: 'What people call this door\'s reader in the console (one string, or per language as other names); without it, the access point\'s name stands for it.' }),
  unlockDelayS: z.number().int().min(1).max(255).optional()
    .meta({ description: 'Seconds the lock stays open after a granted swipe, set with the door\'s mode only when the gateway has to set the mode before it could read the delay the controller holds (its door reads forged from the first status poll); default 3, the controllers\' factory setting. Otherwise the gateway keeps the controller\'s own.' }),
});

export const controllerDeviceConfig = z.strictObject({
  id: deviceId.meta({ description: 'Its doors are readers `<id>-door<N>` in the API, metrics and taps.' }),
  serial: z.number().int().min(1).max(0xfffffffe)
    .meta({ description: 'The serial number printed on the controller (and answered to get-controller).' }),
  address: ipMaybePort.meta({ description: 'The controller\'s own IPv4 address (it has no name), port 60000 unless given.' }),
  cardNumber: z.enum(['wg26', '8h10d', 'reversed']).default('wg26')
    .meta({ description: 'How the readers wired to it report cards, which is the number the controller stores and logs: `wg26` (Wiegand-26: facility and card, the low 3 UID bytes), `8h10d` (Wiegand-34: the low 4 bytes) or `reversed` (those 4 bytes reversed).' }),
  doors: z.partialRecord(z.enum(['1', '2', '3', '4']), controllerDoorConfig).default({})
    .meta({ description: 'Doors 1–4 that are wired, each bound to an access point.' }),
  simulated: z.boolean().default(false)
    .meta({ description: 'The demo\'s: the gateway runs this controller itself on 127.0.0.1 (a protocol-level simulation it syncs, polls and opens over UDP like a real one; `address` is not used), and someone swipes at its doors now and then.' }),
  simulation: z.strictObject({
    swipeEveryS: z.number().min(0.1).max(3600).default(30).meta({ description: 'Mean seconds between swipes at a simulated controller (each wait is ⅔ to 4⁄3 of it).' }),
  }).prefault({}),
});

export const controllersConfig = z.strictObject({
  listen: ipPort.default('0.0.0.0:60001').meta({ description: 'Where the gateway receives the events controllers push ("0.0.0.0:60001").' }),
  advertise: ipPort.optional()
    .meta({ description: 'The listener address written into each controller; default: the local address the gateway reaches it from, with the listen port.' }),
  broadcast: ipPort.default('255.255.255.255:60000').meta({ description: 'Where `campus-gateway discover-controllers` broadcasts get-controller.' }),
  timeoutMs: z.number().int().min(20).max(10_000).default(1000)
    .meta({ description: 'Each request\'s wait for a reply, and how many times it is sent again.' }),
  retries: z.number().int().min(0).max(5).default(2),
  pollIntervalMs: z.number().int().min(50).max(600_000).default(10_000)
    .meta({ description: 'How often each controller\'s status is read (health, new events, clock drift).' }),
  maxClockDriftS: z.number().int().min(1).max(3600).default(5).meta({ description: 'A clock further off than this is set again.' }),
  maxEventsPerS: z.number().int().min(1).max(10_000).default(200)
    .meta({ description: 'Pushed events taken per controller per second; more are dropped (and read back from the controller\'s log).' }),
  remoteOpensPerMinute: z.number().int().min(1).max(600).default(12)
    .meta({ description: 'Remote door opens (`POST /api/v1/access-points/:id/open`) each user may make: this many at once, then one every 60/N seconds, across all doors; more are refused with 429. A guard typing a reason for each open stays well under 12; a script or a stolen session opening every gate again and again does not.' }),
  doorHeldOpenS: z.number().int().min(1).max(3600).default(30)
    .meta({ description: 'A door reported open (sensor) this long without closing raises door_held_open.' }),
  nightlySyncAt: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'time of day as HH:MM').default('02:30')
    .meta({ description: 'Local time each day when every controller\'s card list is reconciled in full and its clock set.' }),
  devices: z.array(controllerDeviceConfig).default([]),
});

export type ControllersConfig = z.infer<typeof controllersConfig>;
export type ControllerDeviceConfig = z.infer<typeof controllerDeviceConfig>;

/** The reader id of a controller's door. */
export const doorReaderId = (deviceId: string, door: number | string): string => `${deviceId}-door${door}`;
