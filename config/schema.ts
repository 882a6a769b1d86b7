import { z } from 'zod';
import { accessConfig } from './access.js';
import { camerasConfig } from './cameras.js';
import { cloudConfig } from './cloud.js';
import { nodeRedConfig } from './node-red.js';
import { backupConfig, clockConfig, retentionConfig } from './operations.js';
import { readerConfig } from './readers.js';
import { sensorsConfig } from './sensors.js';

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
});

export const mqttConfig = z.strictObject({
  host: z.string().default('0.0.0.0'),
  port: port.default(1883),
  /** MQTT over WebSocket at /mqtt on the HTTP server. */
  websocket: z.boolean().default(true),
  /** A subscriber that cannot take messages for this long is disconnected instead of stalling everyone. */
  drainTimeoutMs: z.number().int().positive().default(10_000),
  maxTopicLevels: z.number().int().min(1).max(100).default(10),
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
  access: accessConfig.prefault({}),
  sensors: sensorsConfig.prefault({}),
  cameras: camerasConfig.prefault({}),
  cloud: cloudConfig.prefault({}),
  nodeRed: nodeRedConfig.prefault({}),
  /** Nightly and pre-migration backups (docs/operations.md, Backup and restore). */
  backup: backupConfig.prefault({}),
  /** How long personal data is kept (docs/privacy.md). */
  retention: retentionConfig.prefault({}),
  /** Checks of the gateway's clock against the host's NTP and the cameras (docs/operations.md, Clock). */
  clock: clockConfig.prefault({}),
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
});

export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;
/** What a config file may contain: every field with a default is optional. */
export type GatewayConfigInput = z.input<typeof gatewayConfigSchema>;
