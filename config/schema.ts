import { z } from 'zod';
import { accessConfig } from './access.js';
import { camerasConfig } from './cameras.js';
import { cloudConfig } from './cloud.js';
import { nodeRedConfig } from './node-red.js';
import { backupConfig, clockConfig, retentionConfig } from './operations.js';
import { notifyConfig } from './notify.js';
import { readerConfig } from './readers.js';
import { rosterConfig } from './roster.js';
import { controllersConfig, doorReaderId } from './controllers.js';
import { sensorsConfig } from './sensors.js';
import { localizedName } from './common.js';

const port = z.number().int().min(0).max(65535);

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

export const schoolConfig = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, "_" or "-"').default('demo-school'),
  name: z.string().min(1).default('示范学校'),
  districtId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, "_" or "-"').default('demo-district'),
  /** IANA time zone that school days, schedules and attendance are counted in. */
  timezone: z
    .string()
    .refine(isTimeZone, 'not an IANA time zone (e.g. Asia/Shanghai)')
    .default('Asia/Shanghai'),
});

export const httpConfig = z.strictObject({
  host: z.string().default('0.0.0.0'),
  port: port.default(8080),
  /** Where the console tells people to go; derived from host and port when unset. */
  publicUrl: z.string().url().optional(),
  sessionTtlH: z.number().positive().default(12),
  loginRateLimit: z
    .object({ windowS: z.number().int().positive().default(60), max: z.number().int().positive().default(10) })
    .prefault({}),
  /** `GET /api/v1/events/stream`: what one stalled or greedy browser may hold of the gateway's memory. */
  eventStreams: z
    .strictObject({
      /** A client whose unsent bytes pass this is disconnected (it stopped reading); the console reconnects and reloads. */
      maxBufferedBytes: z.number().int().min(16 * 1024).max(64 * 1024 * 1024).default(1024 * 1024),
      /** Open streams per user (each console tab holds one or two). */
      perUser: z.number().int().positive().max(1000).default(8),
      /** Open streams in all. */
      total: z.number().int().positive().max(10_000).default(64),
    })
    .prefault({}),
});

export const mqttConfig = z.strictObject({
  host: z.string().default('0.0.0.0'),
  port: port.default(1883),
  /** MQTT over WebSocket at /mqtt on the HTTP server. */
  websocket: z.boolean().default(true),
  /** A subscriber that cannot take messages for this long is disconnected instead of stalling everyone. */
  drainTimeoutMs: z.number().int().positive().default(10_000),
  maxTopicLevels: z.number().int().min(1).max(100).default(10),
  /**
   * Largest remaining length of a packet other than CONNECT (which is capped at 4 KiB), checked at the socket
   * from the fixed header before the packet is buffered; a bigger one closes the connection at once.
   */
  maxPacketBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(64 * 1024),
  /**
   * The same for a PUBLISH on `campus/readers/<readerId>/offline`: a terminal's batch of offline sales may be up to
   * 64 KiB of JSON (drivers/rfid/mqtt-readers.ts), plus its topic and headers.
   */
  offlineUploadMaxBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(72 * 1024),
  /** A connection that has not logged in (CONNACK accepted) this long after it opened is closed. */
  connectTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
  /** Connections not logged in yet, in all and from one address: more are closed as they open. */
  maxPendingConnections: z.number().int().positive().default(64),
  maxPendingPerAddress: z.number().int().positive().default(16),
  /**
   * Failed logins from one address: the refusal of the 2nd is held back `baseDelayMs`, each later one twice as
   * long up to `maxDelayMs`; the `maxFailures`th refuses every login from that address (right password or not)
   * for `blockS`. Failures are forgotten after `blockS` without one. Logged at most once a minute per address.
   */
  loginBackoff: z
    .strictObject({
      maxFailures: z.number().int().min(1).default(5),
      baseDelayMs: z.number().int().nonnegative().default(500),
      maxDelayMs: z.number().int().nonnegative().default(4000),
      blockS: z.number().positive().default(300),
    })
    .prefault({}),
  /**
   * Retained messages a device keeps on the broker (under its own topics), in count and bytes (topic + payload).
   * Room for a Tasmota LWT and Zigbee2MQTT's retained states; anonymous clients (demo mode) share one such quota.
   * Services are not counted. A retained publish past the quota is acknowledged and delivered, not kept.
   */
  retainedPerDevice: z
    .strictObject({
      messages: z.number().int().nonnegative().default(100),
      bytes: z.number().int().nonnegative().default(256 * 1024),
    })
    .prefault({}),
  /** Subscriptions one client may hold: devices, and services or anonymous clients. More get a SUBACK failure. */
  maxSubscriptions: z
    .strictObject({
      device: z.number().int().positive().default(32),
      other: z.number().int().positive().default(1000),
    })
    .prefault({}),
  /** Non-device clients (Node-RED's mqtt nodes, integrations) that may publish and subscribe to any topic. */
  services: z.array(z.strictObject({ username: z.string().min(1), secretHash: z.string().regex(/^scrypt\$/) })).default([]),
});

export const storageConfig = z.strictObject({
  /**
   * SQLite synchronous mode (WAL). `normal`: a commit survives a crashed or killed process, and no fsync
   * sits on the tap path; a power cut may roll back the last commits (the database stays consistent).
   * `full`: every commit is fsynced and survives a power cut, at a cost per commit (ms on SSD, more on SD cards).
   */
  synchronous: z.enum(['full', 'normal']).default('normal'),
  batchMaxSize: z.number().int().positive().default(500),
  /** 0: commit at the end of the event-loop turn; more waits for company at the cost of latency. */
  batchMaxDelayMs: z.number().int().nonnegative().default(0),
  /**
   * How often a worker thread copies the write-ahead log into the database file, off the tap path. Short, so
   * the log stays small at a busy gate (~1,100 pages at 1,000 taps/s against ~6,000 at 1 s) and each copy is
   * a small burst of I/O; an idle gateway's passes copy nothing and cost next to nothing.
   */
  checkpointIntervalMs: z.number().int().min(50).max(60_000).default(200),
});

export const alertsConfig = z.strictObject({
  /** A second alert with the same key inside this window is folded into the first. */
  dedupCooldownS: z.number().int().nonnegative().default(300),
});

export const logConfig = z.strictObject({
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `pretty` on a terminal, JSON otherwise, unless set. */
  format: z.enum(['auto', 'json', 'pretty']).default('auto'),
});

export const gatewayConfigSchema = z.strictObject({
  school: schoolConfig.prefault({}),
  /** Where gateway.db, snapshots and Node-RED's files live. */
  dataDir: z.string().default('./data'),
  http: httpConfig.prefault({}),
  mqtt: mqttConfig.prefault({}),
  storage: storageConfig.prefault({}),
  alerts: alertsConfig.prefault({}),
  log: logConfig.prefault({}),
  readers: z.array(readerConfig).default([]),
  /**
   * Names of the zones that access points, sensors and cameras refer to (`gate-east`, `classroom-101`); a zone not
   * listed here is shown by its id.
   */
  zones: z.array(z.strictObject({ id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, "_", "." or "-"'), name: localizedName })).default([]),
  access: accessConfig.prefault({}),
  roster: rosterConfig.prefault({}),
  sensors: sensorsConfig.prefault({}),
  cameras: camerasConfig.prefault({}),
  cloud: cloudConfig.prefault({}),
  nodeRed: nodeRedConfig.prefault({}),
  /** Door and turnstile controllers (WeiGeng/UHPPOTE): docs/controllers.md. */
  controllers: controllersConfig.prefault({}),
  /** Nightly and pre-migration backups (docs/operations.md, Backup and restore). */
  backup: backupConfig.prefault({}),
  /** How long personal data is kept (docs/privacy.md). */
  retention: retentionConfig.prefault({}),
  /** Checks of the gateway's clock against the host's NTP and the cameras (docs/operations.md, Clock). */
  clock: clockConfig.prefault({}),
  notify: notifyConfig.prefault({}),
}).superRefine((c, ctx) => {
  // What refers to what: caught here, with the field path, instead of a device that is "up" but refuses every tap.
  const unique = (items: readonly { id: string }[], path: (string | number)[]): void => {
    const seen = new Map<string, number>();
    items.forEach((item, i) => {
      const first = seen.get(item.id);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: [...path, i, 'id'], message: `"${item.id}" is also ${path.join('.')}[${first}].id` });
      else seen.set(item.id, i);
    });
  };
  unique(c.readers, ['readers']);
  unique(c.access.accessPoints, ['access', 'accessPoints']);
  unique(c.access.scheduleGroups, ['access', 'scheduleGroups']);
  unique(c.cameras.cameras, ['cameras', 'cameras']);
  unique(c.sensors.sensors, ['sensors', 'sensors']);
  unique(c.zones, ['zones']);
  unique(c.notify.channels, ['notify', 'channels']);
  for (const key of ['guardianChannel', 'staffChannel'] as const) {
    const id = c.notify[key];
    if (id !== undefined && !c.notify.channels.some((ch) => ch.id === id)) {
      ctx.addIssue({ code: 'custom', path: ['notify', key], message: `"${id}" is not a channel (notify.channels: ${c.notify.channels.map((ch) => ch.id).join(', ') || 'none'})` });
    }
  }
  const accessPoints = new Set(c.access.accessPoints.map((a) => a.id));
  c.readers.forEach((r, i) => {
    if (!accessPoints.has(r.accessPoint)) {
      ctx.addIssue({
        code: 'custom',
        path: ['readers', i, 'accessPoint'],
        message: `"${r.accessPoint}" is not an access point (access.accessPoints: ${[...accessPoints].join(', ') || 'none'})`,
      });
    }
  });
  checkControllers(c, accessPoints, ctx);
});

/** Controller ids and serials are unique, a door's reader id is no other reader's, and each door's access point exists. */
function checkControllers(c: { readers: { id: string }[]; controllers: z.infer<typeof controllersConfig> }, accessPoints: Set<string>, ctx: z.RefinementCtx): void {
  const readerIds = new Set(c.readers.map((r) => r.id));
  const ids = new Map<string, number>();
  const serials = new Map<number, number>();
  c.controllers.devices.forEach((d, i) => {
    const path = ['controllers', 'devices', i];
    if (ids.has(d.id)) ctx.addIssue({ code: 'custom', path: [...path, 'id'], message: `"${d.id}" is also controllers.devices[${ids.get(d.id)}].id` });
    else ids.set(d.id, i);
    if (serials.has(d.serial)) ctx.addIssue({ code: 'custom', path: [...path, 'serial'], message: `${d.serial} is also controllers.devices[${serials.get(d.serial)}].serial` });
    else serials.set(d.serial, i);
    for (const [n, door] of Object.entries(d.doors)) {
      if (!door) continue;
      if (readerIds.has(doorReaderId(d.id, n))) {
        ctx.addIssue({ code: 'custom', path: [...path, 'doors', n], message: `reader id "${doorReaderId(d.id, n)}" is also in readers` });
      }
      if (!accessPoints.has(door.accessPoint)) {
        ctx.addIssue({
          code: 'custom',
          path: [...path, 'doors', n, 'accessPoint'],
          message: `"${door.accessPoint}" is not an access point (access.accessPoints: ${[...accessPoints].join(', ') || 'none'})`,
        });
      }
    }
  });
}

export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;
/** What a config file may contain: every field with a default is optional. */
export type GatewayConfigInput = z.input<typeof gatewayConfigSchema>;
