/**
 * The composition root: the one place that creates every component and hands each what it needs.
 * It is also the only gateway file that knows about drivers/ and cloud-sync/; everything else
 * depends inward on gateway/core.
 */
import type { Express, Router } from 'express';
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { GatewayConfig } from '../config/schema.js';
import { accessMigrations, AccessModule } from './access/module.js';
import { alertMigrations, AlertService } from './alerts/alerts.js';
import { alertRoutes, type KnownPlaces } from './alerts/routes.js';
import { apiDocument } from './api-catalogue.js';
import { attendanceMigrations, AttendanceModule } from './attendance/module.js';
import { DEMO_PASSWORD, userMigrations, UserStore } from './auth/users.js';
import { EmbeddedBroker } from './broker/broker.js';
import { deviceCredentials } from './broker/grants.js';
import { EventBus } from './core/bus.js';
import { systemClock, type Clock } from './core/clock.js';
import type { GatewayContext, GatewayModule } from './module/context.js';
import { CloudSync, cloudSyncMigrations } from '../cloud-sync/sync.js';
import { createConsoleModule } from './console/console.js';
import { createLogger, type Logger } from './core/logger.js';
import { getMeta, metaMigrations, setMeta } from './storage/meta.js';
import { packageInfo } from './core/version.js';
import type { Guards } from './http/guards.js';
import { componentReport, createHttp, listen, type HealthReport, type Http } from './http/server.js';
import { createNodeRedModule } from './node-red/module.js';
import { flowPlaces } from './node-red/places.js';
import { schemaVersion, type Migration } from './storage/db.js';
import { openStorage } from './storage/storage.js';
import { BackupScheduler, backupDirOf } from './operations/backup-schedule.js';
import { claimDataDir, DataDirInUseError, removeStaleWork } from './storage/data-lock.js';
import { releaseReserveIfFull } from './storage/disk-reserve.js';
import { RESTORING } from './storage/restore.js';
import { RetentionClock } from './storage/retention-clock.js';
import { DeferredWrites } from './storage/deferred-writes.js';
import { DiskGuard, type DiskSpace, type OutboxShedder } from './operations/disk-guard.js';
import type { PrunableFiles, StoredFile } from './storage/stored-files.js';
import { guardUpgrade, UpgradeError } from './storage/upgrade-guard.js';
import { sensorMigrations, SensorsModule } from './sensors/module.js';
import { sensorPayloadFamilies, sensorSimulation } from '../drivers/sensors/index.js';
import { cameraMigrations, CamerasModule } from './cameras/module.js';
import { TimelineModule } from './timeline/module.js';
import { createOnvifDriver } from '../drivers/onvif/index.js';
import type { CameraDriver } from './cameras/port.js';
import { walletMigrations, WalletModule } from './wallet/module.js';
import { privacyMigrations, PrivacyModule } from './privacy/module.js';
import { ClockGuard, timedatectlSynchronized } from './time/clock-guard.js';
import { createReadersModule } from '../drivers/rfid/module.js';
import { holdersVersionReader } from './people/holders-version.js';
import { controllerMigrations, createControllersModule } from '../drivers/controllers/uhppote/module.js';
import { notifyMigrations, NotifyModule } from './notify/module.js';
import { topics } from './core/topics.js';
import { mapMigrations, MapsModule } from './maps/module.js';

/** Door-controller knowledge the CLI needs (discovery, what a controller cannot enforce), from its driver. */
export { discoverControllers, type DiscoveredController } from '../drivers/controllers/uhppote/discover.js';
export { controllerScheduleNotes } from '../drivers/controllers/uhppote/plan.js';

/** The camera driver, for the CLI's `discover-cameras`: only this file imports drivers/. */
export function createCameraDriver(): CameraDriver {
  return createOnvifDriver();
}

export interface GatewayOptions {
  config: GatewayConfig;
  demo?: boolean;
  log?: Logger;
  clock?: Clock;
  /** The config file it was loaded from, copied into backups. */
  configFile?: string | undefined;
  /** Reads the free space of the data directory's filesystem (statfs by default; tests play a filling disk). */
  diskSpace?: (dir: string) => DiskSpace;
  /** The host's NTP status (timedatectl by default; tests say what a host with systemd would). */
  hostNtp?: () => Promise<boolean | null>;
}

/**
 * The disk guard's ports to the stores it may prune: snapshots and clips, except those of alerts not resolved yet
 * (what the staff on duty are looking at; the stores' own caps bound them anyway), and the city outbox.
 */
export function diskReclaim(stores: {
  alerts: { unresolvedIds(): Set<string> };
  snapshots: { oldest(limit: number, keep: ReadonlySet<string>): StoredFile[]; remove(ids: readonly string[]): number };
  clips: { oldest(limit: number, keep: ReadonlySet<string>): StoredFile[]; remove(ids: readonly string[]): number };
  outbox: OutboxShedder;
}): { files: PrunableFiles[]; outbox: OutboxShedder } {
  const files = (name: string, store: typeof stores.snapshots): PrunableFiles => ({
    name,
    oldest: (limit) => store.oldest(limit, stores.alerts.unresolvedIds()),
    remove: (ids) => store.remove(ids),
  });
  return { files: [files('snapshots', stores.snapshots), files('clips', stores.clips)], outbox: stores.outbox };
}

export interface RunningGateway {
  ctx: GatewayContext;
  /** The HTTP app, so a test can compare what is mounted with the API document. */
  app: Express;
  httpPort: number;
  mqttPort: number;
  httpUrl: string;
  mqttUrl: string;
  stop(): Promise<void>;
}

/** Why the gateway refuses to start, with what to do about it. */
export class StartupError extends Error {
  constructor(
    readonly code: 'NO_USERS' | 'DEMO_PASSWORD' | 'PORT_IN_USE' | 'DATA_DIR_IN_USE' | 'SCHEMA_TOO_NEW' | 'BACKUP_FAILED',
    message: string,
  ) {
    super(message);
    this.name = 'StartupError';
  }
}

/** Each module's migrations; numbers are ranges per module (docs/architecture.md). */
export function allMigrations(): Migration[] {
  return [
    ...metaMigrations,
    ...userMigrations,
    ...alertMigrations,
    ...accessMigrations,
    ...walletMigrations,
    ...attendanceMigrations,
    ...sensorMigrations,
    ...cameraMigrations,
    ...cloudSyncMigrations,
    ...controllerMigrations,
    ...privacyMigrations,
    ...notifyMigrations,
    ...mapMigrations,
  ];
}

/**
 * The capabilities, in start order. `health` is the gateway's own health report (the city heartbeat carries it);
 * it is read lazily, once the modules exist.
 */
function createModules(
  ctx: GatewayContext,
  health: () => HealthReport,
  deferred: DeferredWrites,
  host: Pick<GatewayOptions, 'diskSpace' | 'hostNtp'>,
): { modules: GatewayModule[]; places: () => KnownPlaces } {
  // The wallet is created first because access debits it, and started after access so the demo roster exists
  // before the wallet seeds balances.
  const wallet = new WalletModule(ctx);
  const access = new AccessModule(ctx, wallet.wallet);
  const attendance = new AttendanceModule(ctx);
  access.engine.writeWithTaps(attendance.tapWrite);
  // Guardians' messages are queued in the tap's transaction too, and sent later, off the tap path.
  const notify = new NotifyModule(ctx, {
    // Only the absent, from SQL: building every student's day to keep the absent cost ~0.6 KB a student at the cut-off.
    absentees: (date) => attendance.register.absentees(date),
    // From the lockdowns table, so the broadcast the console offers survives a restart of the gateway.
    lockdownChange: () => {
      const l = access.lockdown.state();
      if (l.active && l.startedAt) return { active: true, at: Date.parse(l.startedAt), by: l.startedBy ?? '' };
      if (!l.active && l.endedAt) return { active: false, at: Date.parse(l.endedAt), by: l.endedBy ?? '' };
      return null;
    },
  });
  access.engine.writeWithTaps(notify.tapWrite);
  // The clock's sources are read at each check, after every module exists; retention deletes by the wall clock only
  // while it confirms it.
  const clockGuard: ClockGuard = new ClockGuard(ctx, {
    hostSynchronized: host.hostNtp ?? timedatectlSynchronized,
    cameraOffsetsMs: () => cameras.states().flatMap((c) => (c.state === 'online' && c.clockOffsetMs !== null ? [c.clockOffsetMs] : [])),
    upstreamOffsetMs: () => cloudSync.upstreamClockOffsetMs(),
    upstreamVerified: () => cloudSync.upstreamClockVerified(),
  });
  const retentionClock: RetentionClock = new RetentionClock(ctx.db, ctx.clock, () => clockGuard.confirmed(), ctx.log);
  const sensors = new SensorsModule(ctx, { families: sensorPayloadFamilies, simulation: (list) => sensorSimulation(ctx, list), retentionClock });
  const cameras = new CamerasModule(ctx, createOnvifDriver(ctx.config.school.timezone));
  // Door controllers decide alone; the gateway records their swipes and keeps their card lists (drivers/controllers).
  const controllers = createControllersModule(ctx, {
    holders: () => access.people.cardHolders(),
    lockdownActive: () => access.lockdown.active,
    holdersVersion: holdersVersionReader(ctx.db),
  });
  access.engine.writeWithTaps(controllers.tapWrite);
  // The places an alert may name: the config's, and cameras' and sensors' zones registered through the API.
  // Built again only after a registration changes, not for every alert the city is sent.
  let known: KnownPlaces | null = null;
  const places = (): KnownPlaces => {
    if (known) return known;
    const p = flowPlaces(ctx.config, { cameras: () => cameras.registry.list(), sensorZones: () => sensors.registry.list().map((s) => s.zone) });
    return (known = { accessPoints: new Set(p.accessPoints.map((a) => a.id)), zones: new Set(p.zones.map((z) => z.id)) });
  };
  cameras.registry.onChange(() => (known = null));
  sensors.registry.onChange(() => (known = null));
  // Cloud sync sees the other domains only through its ports (cloud-sync/ports.ts); these are the adapters.
  const cloudSync = new CloudSync(ctx, {
    places,
    attendance: {
      summary: (date) => attendance.summary(date),
      // Only sent when a school opts in to identifying data for the attendance stream.
      students: (date) =>
        attendance.register.report(date).people.flatMap(({ externalId, name, grade, class: cls, status, firstIn, lastOut }) =>
          status === null ? [] : [{ externalId, name, grade, class: cls, status, firstIn, lastOut }],
        ),
    },
    environment: { hourlySummaries: (hourStart) => sensors.hourlyZoneSummaries(hourStart) },
    cards: {
      blockCard: (externalId, _reason, by) => ({ cards: access.commands.blockCardByExternalId(externalId, by).length }),
      unblockCard: (externalId, _reason, by) => ({ cards: access.commands.unblockCardByExternalId(externalId, by).length }),
    },
    lockdown: {
      startLockdown: (by, reason) => void access.commands.startLockdown(reason, by),
      endLockdown: (by) => void access.commands.endLockdown(by),
      active: () => access.lockdown.active,
    },
    health: { report: health },
  });
  // What the disk guard may prune when the disk is critical: pictures and clips of resolved alerts (or of none), then
  // the city outbox by its overflow policy.
  const disk = new DiskGuard(ctx, deferred, {
    ...(host.diskSpace ? { stat: host.diskSpace } : {}),
    ...diskReclaim({ alerts: ctx.alerts, snapshots: cameras.snapshots, clips: cameras.video.clips, outbox: cloudSync.outbox }),
  });
  const modules = [
    // The disk guard starts first and stops last: the rows it holds get a last try before the database closes.
    disk,
    access,
    wallet,
    attendance,
    notify,
    sensors,
    cameras,
    cameras.videoHealth,
    cloudSync,
    new PrivacyModule(ctx, retentionClock),
    // A read model over taps, alerts, camera events and lockdowns; a camera's filter takes in the places it covers.
    new TimelineModule(ctx, (id) => {
      try {
        const c = cameras.registry.get(id);
        return { accessPoints: c.accessPoints, zones: c.zones };
      } catch {
        return null;
      }
    }),
    // Pins name devices that exist now: access points from config, cameras and sensors as registered (also at run time).
    new MapsModule(ctx, (kind, id) =>
      kind === 'access-point'
        ? ctx.config.access.accessPoints.some((a) => a.id === id)
        : kind === 'camera'
          ? cameras.states().some((c) => c.id === id)
          : sensors.registry.get(id) !== undefined,
    ),
    clockGuard,
    // Node-RED after the domains: its flows see their events from the first one.
    createNodeRedModule(ctx, { attendance, cameras, sensors }),
    // Card readers start last and stop first: every consumer of tap.received listens before the first tap.
    createReadersModule(ctx, {
      cardPool: () => access.people.activeCardUids(2000),
      openToStudents: (accessPoint, at) => access.engine.openToStudents(accessPoint, at),
    }),
    controllers,
  ];
  return { modules, places };
}

/**
 * How long a stop waits for the API's changes in flight (a password hashed off the event loop, a roster being written):
 * seconds at most, and well inside systemd's TimeoutStopSec (deploy/campus-gateway.service, 20 s) with the modules'
 * own stops after it.
 */
const HTTP_DRAIN_MS = 5_000;

const DEMO_USERS = [
  ['admin', 'admin'],
  ['security', 'security'],
  ['viewer', 'viewer'],
] as const;

export async function startGateway(opts: GatewayOptions): Promise<RunningGateway> {
  const { config } = opts;
  const demo = opts.demo ?? false;
  const log = opts.log ?? createLogger(config.log);
  const clock = opts.clock ?? systemClock;
  const started = clock.now();
  const { version } = packageInfo();

  const metrics = new Registry();
  // The event-loop delay histogram's timer: prom-client's 10 ms woke an idle gateway ~70 times a second (most of its
  // idle CPU); at 100 ms a 100 ms stall is always seen, a 30 ms one by ~1 sample in 3 (docs/operations.md).
  collectDefaultMetrics({ register: metrics, eventLoopMonitoringPrecision: 100 });
  // One gateway per data directory (restore checks the same mark), and no migration before a backup of what it changes.
  // Before the first write: on a full disk the pid mark and SQLite's -wal and -shm files need the reserve's room.
  const reserve = releaseReserveIfFull(config.dataDir);
  if (reserve.released > 0) log.warn({ freeBytes: reserve.freeBefore, released: reserve.released }, 'the disk is full: deleted the disk reserve to start; the disk guard makes room');
  let releaseDataDir: () => void;
  try {
    releaseDataDir = claimDataDir(config.dataDir);
    // A restore killed midway left its staging folder (a copy of a database) here.
    removeStaleWork(config.dataDir, RESTORING);
  } catch (err) {
    if (err instanceof DataDirInUseError) throw new StartupError('DATA_DIR_IN_USE', err.message);
    throw err;
  }
  try {
    const pre = await guardUpgrade({
      dataDir: config.dataDir,
      migrations: allMigrations(),
      backupDir: backupDirOf(config),
      configFile: opts.configFile,
      school: config.school.id,
      now: clock.now(),
    });
    if (pre) log.info({ file: pre.file, schemaVersion: pre.manifest.schemaVersion }, 'backed up the database before migrating it');
  } catch (err) {
    releaseDataDir();
    if (err instanceof UpgradeError) throw new StartupError(err.code, err.message);
    throw err;
  }
  const storage = openStorage({ dataDir: config.dataDir, config: config.storage, migrations: allMigrations(), metrics, log });
  const { db, writer } = storage;
  const bus = new EventBus((kind, err) => log.error({ err, kind }, 'event handler failed'));
  const broker = new EmbeddedBroker({
    host: config.mqtt.host,
    port: config.mqtt.port,
    allowAnonymous: demo,
    devices: deviceCredentials(config),
    services: config.mqtt.services,
    drainTimeoutMs: config.mqtt.drainTimeoutMs,
    maxTopicLevels: config.mqtt.maxTopicLevels,
    limits: config.mqtt,
    log: log.child({ component: 'broker' }),
    metrics,
  });
  const users = new UserStore(db, clock, config.http.sessionTtlH * 3_600_000);
  const alerts = new AlertService(db, bus, clock, config.alerts.dedupCooldownS * 1000, { log, metrics });
  // A gate's tap rows wait here (bounded) when the disk is full; the gate keeps deciding (docs/operations.md, Disk).
  const deferred = new DeferredWrites(writer, { maxRows: 10_000, retryEveryMs: 5_000 }, metrics);
  const ctx: GatewayContext = { config, demo, log, clock, db, writer, bus, mqtt: broker, alerts, users, metrics, deferred };
  /** /healthz and the city heartbeat; reads `modules` lazily, after they exist. */
  function health(): HealthReport {
    const components: HealthReport['components'] = {};
    try {
      db.prepare('SELECT 1').get();
      components.db = componentReport({ ok: true });
    } catch (err) {
      components.db = componentReport({ ok: false, detail: String(err), code: 'db_error' });
    }
    components.broker = componentReport(broker.running ? { ok: true } : { ok: false, detail: 'not listening', code: 'broker_not_listening' });
    for (const m of modules) if (m.health) components[m.name] = componentReport(m.health());
    return {
      status: Object.values(components).every((c) => c.ok) ? 'ok' : 'degraded',
      version,
      schemaVersion: schemaVersion(db),
      uptimeS: Math.round((clock.now() - started) / 1000),
      components,
    };
  }
  // The console is mounted last: its page fallback must never shadow another module's mount (/flows).
  const backups: GatewayModule = new BackupScheduler(ctx, opts.configFile);
  const domains = createModules(ctx, health, deferred, opts);
  const modules = [...domains.modules, backups, createConsoleModule(ctx)];

  let http: Http | undefined;
  const startedModules: GatewayModule[] = [];
  const stop = async (): Promise<void> => {
    // HTTP first: a change someone is making through the API is finished and answered while every module and the
    // database are still there, and nothing new comes in while they stop (http/drain.ts).
    await http?.drain(HTTP_DRAIN_MS);
    for (const m of [...startedModules].reverse()) {
      try {
        await m.stop?.();
      } catch (err) {
        log.error({ err, module: m.name }, 'module failed to stop');
      }
    }
    await broker.stop();
    await storage.close();
    releaseDataDir();
  };

  try {
    if (demo && !getMeta(db, 'demo_seeded')) {
      for (const [username, role] of DEMO_USERS) await users.add(username, DEMO_PASSWORD, role);
      for (const m of modules) await m.seedDemo?.();
      setMeta(db, 'demo_seeded', new Date(clock.now()).toISOString());
      log.info('seeded the demo school');
    }
    if (!demo) await refuseUnsafeUsers(users);

    await broker.start();
    // Left out when nobody subscribes: at a busy gate that is two JSON encodings and broker passes per tap, and with
    // sensors publishing as fast as they can, the topic and promises alone were ~200 bytes of garbage a message.
    const eventTopics = new Map<string, string>();
    bus.onAny((kind, event) => {
      let topic = eventTopics.get(kind);
      if (topic === undefined) eventTopics.set(kind, (topic = topics.event(kind)));
      if (broker.hasSubscriber(topic)) broker.publish(topic, event as object).catch(() => {});
    });
    for (const kind of ['alert.raised', 'alert.acknowledged', 'alert.resolved', 'alert.updated'] as const) {
      bus.on(kind, (alert) => {
        broker.publish(topics.alert(alert.severity), { change: kind.slice(6), alert }, { qos: 1 }).catch(() => {});
      });
    }

    // The alerts' routes come first, as they did when the HTTP layer mounted them itself (it imports no domain).
    const alertsApi = { name: 'alerts', routes: (api: Router, g: Guards) => alertRoutes(api, g, alerts, domains.places) };
    http = await createHttp({ ctx, modules: [alertsApi, ...modules], broker, health, apiDocument: apiDocument() });
    const httpPort = await listen(http.server, config.http.port, config.http.host);
    for (const m of modules) {
      await m.start?.();
      startedModules.push(m);
    }
    const shownHost = (h: string): string => (h === '0.0.0.0' || h === '::' ? '127.0.0.1' : h);
    const httpUrl = config.http.publicUrl ?? `http://${shownHost(config.http.host)}:${httpPort}/`;
    const mqttUrl = `mqtt://${shownHost(config.mqtt.host)}:${broker.port}`;
    log.info({ httpPort, mqttPort: broker.port, httpUrl, mqttUrl, version, demo }, 'gateway started');
    return { ctx, app: http.app, httpPort, mqttPort: broker.port, httpUrl, mqttUrl, stop };
  } catch (err) {
    await stop().catch(() => {});
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new StartupError('PORT_IN_USE', `${(err as Error).message}: choose another port in config or with CAMPUS_HTTP_PORT / CAMPUS_MQTT_PORT`);
    }
    throw err;
  }
}

async function refuseUnsafeUsers(users: UserStore): Promise<void> {
  if (users.count() === 0) {
    throw new StartupError(
      'NO_USERS',
      'no users yet: create an administrator first with `campus-gateway user add <name> --role admin` (same --config), then start again',
    );
  }
  const weak = await users.usersWithDemoPassword();
  if (weak.length > 0) {
    throw new StartupError(
      'DEMO_PASSWORD',
      `user(s) ${weak.join(', ')} still have the demo password; set a new one with \`campus-gateway user add <name> --role <role>\``,
    );
  }
}
