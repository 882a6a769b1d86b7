import { z } from 'zod';
import { accessConfig } from './access.js';
import { camerasConfig } from './cameras.js';
import { cloudConfig } from './cloud.js';
import { nodeRedConfig } from './node-red.js';
import { backupConfig, clockConfig, retentionConfig } from './operations.js';
import { notifyConfig } from './notify.js';
import { readerConfig } from './readers.js';
import { rosterConfig } from './roster.js';
import { mapsConfig } from './maps.js';
import { controllersConfig, doorReaderId } from './controllers.js';
import { sensorsConfig, type SensorConfig } from './sensors.js';
import { localizedName } from './common.js';
import { MQTT_DEFAULTS as D } from './mqtt-defaults.js';

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
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, "_" or "-"').default('demo-school').meta({ description: 'The school\'s id in city topics and envelopes: the city knows the school by it.' }),
  name: z.string().min(1).default('示范学校').meta({ description: 'The school\'s name, shown in the console.' }),
  districtId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, "_" or "-"').default('demo-district').meta({ description: 'The district in city topics.' }),
  timezone: z
    .string()
    .refine(isTimeZone, 'not an IANA time zone (e.g. Asia/Shanghai)')
    .default('Asia/Shanghai')
    .meta({ description: 'IANA time zone that school days, schedules and attendance are counted in.' }),
});

export const httpConfig = z.strictObject({
  host: z.string().default('0.0.0.0').meta({ description: 'Address the console, REST API, /healthz, /metrics and MQTT over WebSocket listen on.' }),
  port: port.default(8080).meta({ description: 'HTTP port (CAMPUS_HTTP_PORT overrides; 0 picks a free one).' }),
  publicUrl: z.string().url().optional().meta({ description: 'Where the console tells people to go; derived from host and port when unset.' }),
  sessionTtlH: z.number().positive().default(12).meta({ description: 'Hours a login token lives (the Node-RED editor\'s too).' }),
  loginRateLimit: z
    .object({
      windowS: z.number().int().positive().default(60).meta({ description: 'The window, in seconds.' }),
      max: z.number().int().positive().default(10).meta({ description: 'Login attempts per client address per window.' }),
    })
    .prefault({})
    .meta({ description: 'Login attempts per client address, the console\'s and the Node-RED editor\'s together; more are refused with 429.' }),
  eventStreams: z
    .strictObject({
      maxBufferedBytes: z.number().int().min(16 * 1024).max(64 * 1024 * 1024).default(1024 * 1024)
        .meta({ description: 'A client whose unsent bytes pass this is disconnected (it stopped reading); the console reconnects and reloads.' }),
      perUser: z.number().int().positive().max(1000).default(8).meta({ description: 'Open streams per user (each console tab holds one or two).' }),
      total: z.number().int().positive().max(10_000).default(64).meta({ description: 'Open streams in all.' }),
    })
    .prefault({})
    .meta({ description: '`GET /api/v1/events/stream`: what one stalled or greedy browser may hold of the gateway\'s memory.' }),
  connections: z
    .strictObject({
      max: z.number().int().positive().max(100_000).default(1024).meta({ description: 'Open HTTP connections in all (console, API, MQTT over WebSocket, the Node-RED editor); more are closed as they open.' }),
      perAddress: z.number().int().positive().max(100_000).default(128)
        .meta({ description: 'Open HTTP connections from one client address; more are closed as they open. Behind a reverse proxy every client has the proxy\'s address: raise it to `max`.' }),
      headersTimeoutS: z.number().int().min(1).max(60).default(10).meta({ description: 'Seconds a client has to send a request\'s head; then it gets 408 and is closed.' }),
    })
    .prefault({})
    .meta({ description: 'What one client may hold of the HTTP server before and between its requests (docs/security.md).' }),
});

export const mqttConfig = z.strictObject({
  host: z.string().default('0.0.0.0').meta({ description: 'Address the embedded MQTT broker listens on.' }),
  port: port.default(1883).meta({ description: 'MQTT port (CAMPUS_MQTT_PORT overrides; 0 picks a free one).' }),
  websocket: z.boolean().default(true).meta({ description: 'MQTT over WebSocket at /mqtt on the HTTP server.' }),
  drainTimeoutMs: z.number().int().positive().default(D.drainTimeoutMs)
    .meta({ description: 'A subscriber that cannot take messages for this long is disconnected instead of stalling everyone.' }),
  maxTopicLevels: z.number().int().min(1).max(100).default(D.maxTopicLevels).meta({ description: 'Deeper topics are refused.' }),
  maxPacketBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(D.maxPacketBytes)
    .meta({ description: 'Largest remaining length of a packet other than CONNECT (which is capped at 4 KiB), checked at the socket from the fixed header before the packet is buffered; a bigger one closes the connection at once.' }),
  offlineUploadMaxBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(D.offlineUploadMaxBytes)
    .meta({ description: 'The same for a PUBLISH on `campus/readers/<readerId>/offline`: a terminal\'s batch of offline sales may be up to 64 KiB of JSON (drivers/rfid/mqtt-readers.ts), plus its topic and headers.' }),
  connectTimeoutMs: z.number().int().min(100).max(600_000).default(D.connectTimeoutMs)
    .meta({ description: 'A connection that has not logged in (CONNACK accepted) this long after it opened is closed.' }),
  maxPendingConnections: z.number().int().positive().default(D.maxPendingConnections)
    .meta({ description: 'Connections not logged in yet, in all and from one address: more are closed as they open.' }),
  maxPendingPerAddress: z.number().int().positive().default(D.maxPendingPerAddress)
    .meta({ description: 'Connections not logged in yet from one client address; more are closed as they open.' }),
  loginBackoff: z
    .strictObject({
      maxFailures: z.number().int().min(1).default(D.loginBackoff.maxFailures),
      baseDelayMs: z.number().int().nonnegative().default(D.loginBackoff.baseDelayMs),
      maxDelayMs: z.number().int().nonnegative().default(D.loginBackoff.maxDelayMs),
      blockS: z.number().positive().default(D.loginBackoff.blockS),
    })
    .prefault({})
    .meta({ description: 'Failed logins from one address: the refusal of the 2nd is held back `baseDelayMs`, each later one twice as long up to `maxDelayMs`; the `maxFailures`th refuses every login from that address (right password or not) for `blockS`. Failures are forgotten after `blockS` without one. Logged at most once a minute per address.' }),
  retainedPerDevice: z
    .strictObject({
      messages: z.number().int().nonnegative().default(D.retainedPerDevice.messages),
      bytes: z.number().int().nonnegative().default(D.retainedPerDevice.bytes),
    })
    .prefault({})
    .meta({ description: 'Retained messages a device keeps on the broker (under its own topics), in count and bytes (topic + payload). Room for a Tasmota LWT and Zigbee2MQTT\'s retained states; anonymous clients (demo mode) share one such quota. Services are not counted. A retained publish past the quota is acknowledged and delivered, not kept.' }),
  publishRatePerDevice: z
    .strictObject({
      messagesPerS: z.number().positive().default(D.publishRatePerDevice.messagesPerS),
      burst: z.number().int().min(1).default(D.publishRatePerDevice.burst),
    })
    .prefault({})
    .meta({ description: 'How fast one device login may publish, all its connections together: `burst` messages at once, then `messagesPerS` (a token bucket). A reader taps a few times a second and a sensor reports every few seconds, so this only stops a device whose secret leaked from sending taps or readings as fast as the gateway can store them. Past it a message is acknowledged (QoS 1) and dropped, counted as `publish_rate`; the device stays connected. Services and anonymous clients (demo mode) are not limited.' }),
  maxSubscriptions: z
    .strictObject({
      device: z.number().int().positive().default(D.maxSubscriptions.device),
      other: z.number().int().positive().default(D.maxSubscriptions.other),
    })
    .prefault({})
    .meta({ description: 'Subscriptions one client may hold: devices, and services or anonymous clients. More get a SUBACK failure.' }),
  services: z.array(z.strictObject({ username: z.string().min(1), secretHash: z.string().regex(/^scrypt\$/) })).default([])
    .meta({ description: 'Non-device clients (Node-RED\'s mqtt nodes, integrations) that may publish and subscribe to any topic.' }),
});

export const storageConfig = z.strictObject({
  synchronous: z.enum(['full', 'normal']).default('normal')
    .meta({ description: 'SQLite synchronous mode (WAL). `normal`: a commit survives a crashed or killed process, and no fsync sits on the tap path; a power cut may roll back the last commits (the database stays consistent). `full`: every commit is fsynced and survives a power cut, at a cost per commit (ms on SSD, more on SD cards).' }),
  batchMaxSize: z.number().int().positive().default(500).meta({ description: 'Hot-path writes (taps, readings, events) committed together: at most this many.' }),
  batchMaxDelayMs: z.number().int().nonnegative().default(0)
    .meta({ description: '0: commit at the end of the event-loop turn; more waits for company at the cost of latency.' }),
  reserveMiB: z.number().int().min(0).max(1024).default(32)
    .meta({ description: 'A file of this size (`<dataDir>/disk-reserve`) kept while the disk can spare it twice over, and deleted by a start that finds the disk full, so the gateway can start on it (docs/operations.md, Disk). 0: none.' }),
  checkpointIntervalMs: z.number().int().min(50).max(60_000).default(200)
    .meta({ description: 'How often a worker thread copies the write-ahead log into the database file, off the tap path. Short, so the log stays small at a busy gate (~1,100 pages at 1,000 taps/s against ~6,000 at 1 s) and each copy is a small burst of I/O; an idle gateway\'s passes copy nothing and cost next to nothing.' }),
});

export const alertsConfig = z.strictObject({
  dedupCooldownS: z.number().int().nonnegative().default(300)
    .meta({ description: 'A second alert with the same key inside this window is folded into the first.' }),
});

export const logConfig = z.strictObject({
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').meta({ description: 'Log level (pino).' }),
  format: z.enum(['auto', 'json', 'pretty']).default('auto').meta({ description: '`pretty` on a terminal, JSON otherwise, unless set.' }),
});

export const gatewayConfigSchema = z.strictObject({
  school: schoolConfig.prefault({}).meta({ description: 'The school: its id and district for the city, its name and time zone (docs/config.md).' }),
  dataDir: z.string().default('./data').meta({ description: 'Where gateway.db, snapshots and Node-RED\'s files live.' }),
  http: httpConfig.prefault({}).meta({ description: 'The HTTP server: console, REST API (docs/rest-api.md), /healthz, /metrics.' }),
  mqtt: mqttConfig.prefault({}).meta({ description: 'The embedded MQTT broker and its limits (docs/mqtt-topics.md, docs/security.md).' }),
  storage: storageConfig.prefault({}).meta({ description: 'SQLite: durability and write batching (docs/operations.md).' }),
  alerts: alertsConfig.prefault({}).meta({ description: 'Alert deduplication.' }),
  log: logConfig.prefault({}).meta({ description: 'Logging.' }),
  readers: z.array(readerConfig).default([]).meta({ description: 'Card readers (RFID e-card readers and canteen terminals): docs/readers.md.' }),
  zones: z
    .array(z.strictObject({ id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, "_", "." or "-"'), name: localizedName }))
    .default([])
    .meta({ description: 'Names of the zones that access points, sensors and cameras refer to (`gate-east`, `classroom-101`); a zone not listed here is shown by its id.' }),
  access: accessConfig.prefault({}).meta({ description: 'Access points, schedules, the school calendar and the canteen wallet (docs/access.md, docs/wallet.md).' }),
  roster: rosterConfig.prefault({}).meta({ description: 'Roster import limits (docs/access.md).' }),
  maps: mapsConfig.prefault({}).meta({ description: 'Campus maps: the size of an uploaded floor plan (docs/console.md, Campus map).' }),
  sensors: sensorsConfig.prefault({}).meta({ description: 'Environmental sensors, thresholds, retention and comfort bands (docs/sensors.md).' }),
  cameras: camerasConfig.prefault({}).meta({ description: 'ONVIF cameras, snapshots, live video and clips (docs/cameras.md).' }),
  cloud: cloudConfig.prefault({}).meta({ description: 'Store-and-forward sync to the city education command center (docs/cloud-sync.md).' }),
  nodeRed: nodeRedConfig.prefault({}).meta({ description: 'The embedded Node-RED runtime (docs/node-red.md).' }),
  controllers: controllersConfig.prefault({}).meta({ description: 'Door and turnstile controllers (WeiGeng/UHPPOTE): docs/controllers.md.' }),
  backup: backupConfig.prefault({}).meta({ description: 'Nightly and pre-migration backups (docs/operations.md, Backup and restore).' }),
  retention: retentionConfig.prefault({}).meta({ description: 'How long personal data is kept (docs/privacy.md).' }),
  clock: clockConfig.prefault({})
    .meta({ description: 'Checks of the gateway\'s clock against the host\'s NTP and the cameras (docs/operations.md, Clock).' }),
  notify: notifyConfig.prefault({}).meta({ description: 'Messages to guardians and staff: channels, events, quiet hours (docs/guardians.md).' }),
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
  // A city command's id is how a replay is known: it must be remembered for as long as the command could still run
  // (its age limit, plus the 60 s it may be ahead), or a recorded command sent again after the prune runs twice.
  if (c.retention.commandsDays * 86_400 <= c.cloud.commandMaxAgeS + 60) {
    ctx.addIssue({
      code: 'custom',
      path: ['retention', 'commandsDays'],
      message: `keeps city command ids ${c.retention.commandsDays} day(s), not longer than a command may run (cloud.commandMaxAgeS ${c.cloud.commandMaxAgeS} s + 60 s): a replayed command would run twice; keep them longer`,
    });
  }
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
  checkBrokerLogins(c, ctx);
  const accessPoints = new Set(c.access.accessPoints.map((a) => a.id));
  const notAnAccessPoint = (id: string, path: (string | number)[]): void => {
    if (accessPoints.has(id)) return;
    ctx.addIssue({ code: 'custom', path, message: `"${id}" is not an access point (access.accessPoints: ${[...accessPoints].join(', ') || 'none'})` });
  };
  c.readers.forEach((r, i) => notAnAccessPoint(r.accessPoint, ['readers', i, 'accessPoint']));
  // A camera's access points choose which taps its clips and the timeline put beside it: a typo would show none.
  c.cameras.cameras.forEach((cam, i) => cam.accessPoints.forEach((a, k) => notAnAccessPoint(a, ['cameras', 'cameras', i, 'accessPoints', k])));
  checkControllers(c, accessPoints, ctx);
});

/**
 * One broker login per name: readers and sensors log in by their id, services by their username, and a second one
 * of a name silently replaced the first (a sensor called like a gate's reader locked the reader out). And one sensor
 * per Zigbee2MQTT or Tasmota device: the second took the first's messages, and its login published as the first.
 */
function checkBrokerLogins(
  c: { readers: { id: string }[]; sensors: { sensors: SensorConfig[] }; mqtt: { services: { username: string }[] } },
  ctx: z.RefinementCtx,
): void {
  const owners = new Map<string, { list: string; at: string }>();
  const claim = (name: string, list: string, i: number, field: string): void => {
    const first = owners.get(name);
    if (first === undefined) return void owners.set(name, { list, at: `${list}[${i}].${field}` });
    if (first.list === list && list !== 'mqtt.services') return; // a list's own repeats are said by `unique`
    ctx.addIssue({
      code: 'custom',
      path: [...list.split('.'), i, field],
      message: `"${name}" is also ${first.at}: readers and sensors log in to the broker by id, services by username, one login a name`,
    });
  };
  c.readers.forEach((r, i) => claim(r.id, 'readers', i, 'id'));
  c.sensors.sensors.forEach((s, i) => claim(s.id, 'sensors.sensors', i, 'id'));
  c.mqtt.services.forEach((s, i) => claim(s.username, 'mqtt.services', i, 'username'));
  const devices = new Map<string, number>();
  c.sensors.sensors.forEach((s, i) => {
    const key = s.source.type === 'zigbee2mqtt' ? `Zigbee2MQTT device "${s.source.friendlyName}"` : s.source.type === 'tasmota' ? `Tasmota device "${s.source.device}"` : null;
    if (key === null) return;
    const first = devices.get(key);
    const field = s.source.type === 'zigbee2mqtt' ? 'friendlyName' : 'device';
    if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['sensors', 'sensors', i, 'source', field], message: `${key} is also sensors.sensors[${first}]'s` });
    else devices.set(key, i);
  });
}

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
export type HttpConfig = z.infer<typeof httpConfig>;
/** What a config file may contain: every field with a default is optional. */
export type GatewayConfigInput = z.input<typeof gatewayConfigSchema>;
