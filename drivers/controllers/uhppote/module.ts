/**
 * Door and turnstile controllers (WeiGeng/UHPPOTE) as a gateway module: one UDP client for requests, one listener for
 * pushed events, one runtime per configured controller. Swipes become `tap.received` with the controller's own
 * decision; the tap and the controller's event index commit together (the TapWrite below). Card lists follow the
 * gateway's cards (`card.changed`, lockdown, the holders' version, a full reconciliation at start, on reconnect and
 * nightly).
 * `GET /api/v1/controllers` shows each controller's health, card sync and event position.
 */
import type { Router } from 'express';
import type { AccessPointConfig } from '../../../config/access.js';
import { doorReaderId, hostPort } from '../../../config/controllers.js';
import type { ComponentHealth, GatewayContext, GatewayModule } from '../../../gateway/module/context.js';
import type { Tap } from '../../../gateway/core/taps.js';
import type { WriteOp } from '../../../gateway/storage/batch-writer.js';
import type { Guards } from '../../../gateway/http/guards.js';
import { MetricFactory } from '../../../gateway/core/metrics.js';
import { RateLimitedLog } from '../../../gateway/core/rate-limited-log.js';
import { UhppoteClient } from './client.js';
import { DeviceRuntime, type ControllerHealth } from './device.js';
import { EventPump } from './events.js';
import { controllerRoutes } from './routes.js';
import { RemoteOpenLimit } from './open-limit.js';
import { EventListener } from './listener.js';
import { countListenerDrops, RECEIVE_BUFFER_BYTES } from './listener-buffer.js';
import { antiPassbackPlan, cardNumberOf, planDevice, readersElsewhere, type PlannedHolder } from './plan.js';
import { LEFT_OUT_SHOWN, LeftOutAlerts } from './left-out.js';
import { DoorAlarms } from './door-alarms.js';
import { DoorLockdown } from './lockdown.js';
import { CardsNotIssued } from './not-issued.js';
import { ControllerStore } from './store.js';
import { ControllerSimulation } from './simulation.js';
import { SyncSchedule } from './sync-schedule.js';

export { controllerMigrations } from './store.js';
export { openBody } from './routes.js';

/** What the module needs from the rest of the gateway, handed in by the composition root. */
export interface ControllersPorts {
  /** Every card with its status and its holder's role, group and security flag. */
  holders: () => PlannedHolder[];
  lockdownActive: () => boolean;
  /** Rises with every change to cards or their holders, by whatever process (gateway/people/holders-version.ts). */
  holdersVersion: () => number;
}

/** The decided tap as the TapWrite sees it (gateway/access/contract.ts TapDecision, structurally). */
type DecidedTap = Tap & { tapId: string };

export interface ControllersModule extends GatewayModule {
  /** Add to the access engine's tap transaction: the controller's event index moves with its tap. */
  tapWrite: (decided: DecidedTap) => WriteOp | null;
  /** Resolves once every controller has finished its current sync and event work (tests, operations). */
  idle(): Promise<void>;
}

declare module '../../../gateway/core/bus.js' {
  interface CampusEventMap {
    /** A door opened from the console or API: who, why, which doors. */
    'door.remote_opened': { accessPoint: string; readers: string[]; by: string; reason: string; at: number };
  }
}

const TAP_WAIT_MS = 15_000;
/**
 * How long a status or event read listens after its reply for a second, different one (a forgery: drivers/controllers/
 * uhppote/client.ts). A controller on the LAN answers within a few ms; 20 ms a read is ~40 s over a 2,000-entry backfill.
 */
const SETTLE_MS = 20;

export function createControllersModule(ctx: GatewayContext, ports: ControllersPorts): ControllersModule {
  const cfg = ctx.config.controllers;
  const log = ctx.log.child({ component: 'controllers' });
  const store = new ControllerStore(ctx.db);
  const listen = hostPort(cfg.listen, 60001);
  const tz = ctx.config.school.timezone;
  const now = (): number => ctx.clock.now();
  const nowIso = (): string => new Date(now()).toISOString();
  const aps = new Map<string, AccessPointConfig>(ctx.config.access.accessPoints.map((a) => [a.id, a]));
  const dropLog = new RateLimitedLog(log, now);
  const metrics = new MetricFactory(ctx.metrics);
  const m = {
    up: metrics.gauge('campus_controller_up', '1 while a door controller answers', ['controller']),
    requests: metrics.counter('campus_controller_requests_total', 'Requests to door controllers, by outcome (ok, timeout, forged)', ['controller', 'outcome']),
    events: metrics.counter(
      'campus_controller_events_total',
      'Controller log entries taken, by kind (live, backfilled, duplicate, overwritten, unmapped_door, forged)',
      ['controller', 'kind'],
    ),
    dropped: metrics.counter('campus_controller_packets_dropped_total', 'UDP packets dropped, by reason', ['reason']),
    clockSets: metrics.counter('campus_controller_clock_sets_total', 'Times a controller clock was set', ['controller']),
  };
  countListenerDrops(metrics, () => listener?.bound);
  const onDrop = (reason: string, detail = ''): void => {
    m.dropped.inc({ reason });
    dropLog.warn(reason, { reason, detail }, 'controller packet dropped');
  };
  const client = new UhppoteClient({ bindHost: listen.host, timeoutMs: cfg.timeoutMs, retries: cfg.retries, settleMs: SETTLE_MS, onDrop });
  const devices: DeviceRuntime[] = [];
  const byReader = new Map<string, DeviceRuntime>();
  const recorded = new Map<string, number | null>();
  const waiters = new Map<string, (ok: boolean) => void>();
  let listener: EventListener | undefined;
  const offs: (() => void)[] = [];
  /** Set at stop: a swipe read back from then on is not put on the bus (nothing would take its decision). */
  let stopping = false;
  const simulated = cfg.devices.filter((d) => d.simulated);
  const simulation = simulated.length > 0 ? new ControllerSimulation(simulated, tz) : null;
  const schedule = new SyncSchedule(devices, { nightlySyncAt: cfg.nightlySyncAt, timeZone: tz, now, holdersVersion: ports.holdersVersion });

  const alertKey = (id: string): string => `controller_offline:${id}`;

  const leftOutAlerts = new LeftOutAlerts({ alerts: ctx.alerts, log });
  /** Whether each controller's latest plan was made under a lockdown (its card list: security staff only). */
  const plannedLocked = new Map<string, boolean>();
  /** Whether a controller's card list is the lockdown's: a plan made under it, written in full. */
  const listLocked = (d: DeviceRuntime): boolean => {
    const s = d.sync.state();
    return plannedLocked.get(d.id) === true && s.pending === 0 && !s.running && s.lastError === null;
  };
  const doorAlarms = new DoorAlarms({
    alerts: ctx.alerts, aps, timeZone: tz, now, doorHeldOpenS: cfg.doorHeldOpenS, maxClockDriftS: cfg.maxClockDriftS,
    openRecorded: (readerId, from, to) => store.openNear(readerId, from, to),
  });

  const notIssued = new CardsNotIssued({ alerts: ctx.alerts, aps, timeZone: tz, now, log, metrics, lockdownActive: ports.lockdownActive });

  const doorLockdown = new DoorLockdown({
    aps, active: ports.lockdownActive, listLocked, log, owedRead: (d) => notIssued.takeOwed(d), alarms: doorAlarms, warn: (key, fields, msg) => dropLog.warn(key, fields, msg),
    closed: {
      load: () => store.doorsClosed(),
      save: (id, closed) => {
        try {
          store.setDoorsClosed(id, closed, nowIso());
        } catch (err) {
          log.warn({ err, controller: id, closed }, 'controller doors left normally closed not saved: a restart before they open again would leave them closed');
        }
      },
    },
  });

  /** `address`: where a simulated controller answers instead of its configured one. */
  const makeDevice = (device: (typeof cfg.devices)[number], address: string | undefined): DeviceRuntime => {
    const state = store.state(device.id);
    recorded.set(device.id, state && state.serial === device.serial ? state.lastIndex : null);
    const rt = new DeviceRuntime({
      config: address ? { ...device, address } : device,
      client,
      timeZone: tz,
      pollIntervalMs: cfg.pollIntervalMs,
      maxClockDriftS: cfg.maxClockDriftS,
      listenerFor: (local) => {
        if (!cfg.advertise) return { address: local, port: listener?.port ?? listen.port };
        const a = hostPort(cfg.advertise, listen.port);
        return { address: a.host, port: a.port };
      },
      now,
      plan: () => {
        const locked = ports.lockdownActive();
        const plan = planDevice(device, aps, ports.holders(), locked);
        plannedLocked.set(device.id, locked);
        leftOutAlerts.planned(device, plan.leftOut);
        return plan;
      },
      antiPassbackMode: antiPassbackPlan(device, aps, readersElsewhere(cfg.devices.indexOf(device), cfg.devices, ctx.config.readers)).mode,
      pump: (dev) =>
        new EventPump({
          device,
          timeZone: tz,
          recorded: () => recorded.get(device.id) ?? null,
          setBaseline: (lastIndex) => {
            // Kept in memory whatever the database says: thrown (a full disk), it failed the status poll at every
            // read, and no swipe was read from the controller nor its door modes watched. Not saved, the next start
            // meets the controller anew and starts from its log's end then.
            recorded.set(device.id, lastIndex);
            try {
              store.setBaseline(device.id, device.serial, lastIndex, nowIso());
            } catch (err) {
              dropLog.warn(`baseline:${device.id}`, { controller: device.id, lastIndex, err }, 'where the controller log starts could not be saved; kept in memory');
            }
          },
          read: (index) => dev.readEvent(index),
          confirm: async () => (await dev.ask({ type: 'get-status' })).status.lastIndex,
          tap: async (tap, index) => {
            // Left for the next start, which reads the log again from the recorded index.
            if (stopping) return false;
            // A log entry read again (after the controller's log seemed to start over) is the swipe already recorded.
            if (store.hasSwipe(device.id, index, tap)) {
              m.events.inc({ controller: device.id, kind: 'duplicate' });
              await ctx.writer.write(store.advanceOp(device.id, index, nowIso()));
              recorded.set(device.id, Math.max(recorded.get(device.id) ?? 0, index));
              return true;
            }
            return new Promise<boolean>((resolve) => {
              const key = `${tap.readerId}:${index}`;
              const timer = setTimeout(() => {
                waiters.delete(key);
                // The decision may have committed without reaching us (the engine answers a repeat of a reader's
                // sequence number from memory, without a second tap.decided): the table says whether it is recorded.
                const stored = store.hasTap(device.id, index);
                if (stored) recorded.set(device.id, Math.max(recorded.get(device.id) ?? 0, index));
                resolve(stored);
              }, TAP_WAIT_MS);
              waiters.set(key, (ok) => {
                clearTimeout(timer);
                waiters.delete(key);
                resolve(ok);
              });
              ctx.bus.emit('tap.received', tap);
            });
          },
          advance: async (index) => {
            await ctx.writer.write(store.advanceOp(device.id, index, nowIso()));
            recorded.set(device.id, Math.max(recorded.get(device.id) ?? 0, index));
          },
          onDoorEvent: (e, backfilled) => doorAlarms.event(dev, e, backfilled),
          onCaughtUp: () => doorAlarms.caughtUp(dev.id),
          count: (kind) => m.events.inc({ controller: device.id, kind }),
          // Rate-limited per controller and message: a forged push is one line a minute, however many come.
          warn: (fields, msg) => dropLog.warn(`${device.id}:${msg}`, { controller: device.id, ...fields }, msg),
        }),
      lastFullSync: state?.lastFullSync ?? null,
      onFullSync: (at) => {
        // Thrown (a full disk), the sync that had just written the list counted as failed, its mirror dropped, and each
        // retry read the whole card list again. Not saved, a restart shows the time saved before.
        try {
          store.setFullSync(device.id, at);
        } catch (err) {
          dropLog.warn(`full-sync:${device.id}`, { controller: device.id, err }, 'the time of the full card sync could not be saved');
        }
      },
      onHealth: (h: ControllerHealth, prev: ControllerHealth, detail) => {
        m.up.set({ controller: device.id }, h === 'online' ? 1 : 0);
        if (h === 'offline') {
          log.warn({ controller: device.id, detail }, 'controller offline');
          // Not thrown (a full disk): setHealth runs inside a request's failure and a reconnect, whose full card sync
          // a refused write skipped, leaving a lost card on the controller.
          ctx.alerts.tryRaise({
            type: 'controller_offline', severity: 'warning', source: `controller:${device.id}`, dedupKey: alertKey(device.id),
            message: `Door controller ${device.id} (${device.address}) does not answer: its doors decide alone from their last card list`,
            data: { controller: device.id, serial: device.serial, address: device.address, detail },
          });
        } else if (h === 'online' && prev === 'offline') {
          ctx.alerts.tryResolveByKey(alertKey(device.id), 'gateway', 'the controller answers again');
        }
      },
      onRequest: (outcome) => m.requests.inc({ controller: device.id, outcome }),
      onPolled: (): Promise<void> => {
        leftOutAlerts.polled(device.id);
        notIssued.polled(rt);
        return doorLockdown.check(rt);
      },
      onClockSet: (drift) => {
        m.clockSets.inc({ controller: device.id });
        log.info({ controller: device.id, driftS: drift }, 'controller clock set');
      },
      log,
    });
    for (const n of Object.keys(device.doors)) byReader.set(doorReaderId(device.id, n), rt);
    return rt;
  };

  const info = (d: DeviceRuntime, full: boolean): object => {
    const s = d.sync.state();
    const counts = store.counts(d.id);
    const missing = doorLockdown.missingDoors(d.id);
    // During a lockdown, whether the controller's doors keep all but security staff out: its card list is the
    // lockdown's once a plan made under it is written, and its doors read back in the lockdown's mode (lockdown.ts).
    // One that did not answer before that decides by its old list (it is reconciled when it answers), which the desk
    // must know: its doors still open for every card.
    const lockdown = !ports.lockdownActive()
      ? 'off'
      : listLocked(d) && doorLockdown.doorsHeld(d.id)
        ? 'applied'
        : d.health === 'online'
          ? 'applying'
          : 'not_applied';
    return {
      id: d.id,
      serial: d.config.serial,
      address: d.config.address,
      state: d.health,
      since: new Date(d.since).toISOString(),
      ...(d.detail ? { detail: d.detail } : {}),
      lastSeen: d.lastSeen === null ? null : new Date(d.lastSeen).toISOString(),
      clockDriftS: d.clockDriftS,
      antiPassback: d.antiPassback,
      lockdown,
      // missing: configured, but the controller answers it as no door (door-modes.ts): its mode is not watched.
      doors: Object.entries(d.config.doors).map(([n, door]) => ({
        door: Number(n), readerId: doorReaderId(d.id, n), accessPoint: door!.accessPoint, direction: door!.direction ?? null, missing: missing.has(Number(n)),
      })),
      sync: {
        inSync: s.inSync, pending: s.pending, planned: s.planned, running: s.running, lastFullSync: s.lastFullSync, lastError: s.lastError,
        // The numbers and UIDs are enough to clone a card: the desk's (docs/security.md), not a viewer's.
        leftOut: full ? { count: s.leftOut.length, cards: s.leftOut.slice(0, LEFT_OUT_SHOWN) } : { count: s.leftOut.length },
      },
      events: { lastIndex: recorded.get(d.id) ?? null, controllerLastIndex: d.lastStatus?.lastIndex ?? null, taps: counts.taps, backfilled: counts.backfilled },
    };
  };

  return {
    name: 'controllers',

    tapWrite(decided) {
      const dev = byReader.get(decided.readerId);
      if (!dev || decided.seq === undefined || !decided.deviceDecision) return null;
      const put = store.tapOp(decided.tapId, dev.id, decided.seq, decided.backfilled === true, decided);
      const advance = store.advanceOp(dev.id, decided.seq, nowIso());
      return (db) => {
        put(db);
        advance(db);
      };
    },

    async start() {
      if (cfg.devices.length === 0) return;
      const simulatedAt = (await simulation?.start()) ?? new Map<string, string>();
      for (const d of cfg.devices) devices.push(makeDevice(d, simulatedAt.get(d.id)));
      offs.push(
        ctx.bus.on('tap.decided', (t) => {
          const dev = byReader.get(t.readerId);
          if (!dev || t.seq === undefined || !t.deviceDecision) return;
          recorded.set(dev.id, Math.max(recorded.get(dev.id) ?? 0, t.seq));
          waiters.get(`${t.readerId}:${t.seq}`)?.(true);
        }),
        ctx.bus.on('card.changed', (c) => {
          for (const d of devices) {
            const n = cardNumberOf(c.uid, d.config.cardNumber);
            if (n !== null) d.sync.changed([n]);
          }
        }),
        ctx.bus.on('tap.lockdown_overruled', (t) => doorLockdown.overruled(byReader.get(t.readerId), t)),
        ctx.bus.on('tap.card_not_issued', (t) => notIssued.granted(byReader.get(t.readerId), t)),
        ctx.bus.on('lockdown.changed', (e) => {
          for (const d of devices) {
            if (d.health !== 'online') continue; // it is reconciled in full when it answers again
            void doorLockdown.apply(d, e.active).catch((err: unknown) => log.warn({ err, controller: d.id }, 'lockdown not fully applied to controller'));
          }
        }),
      );
      await client.start();
      listener = new EventListener({
        host: listen.host,
        port: listen.port,
        sources: new Map(devices.map((d) => [d.config.serial, d.target.host])),
        maxPerSecond: cfg.maxEventsPerS,
        receiveBufferBytes: RECEIVE_BUFFER_BYTES,
        onReceiveBufferShort: (asked, granted, err) =>
          log.warn({ asked, granted, err }, 'controller listener receive buffer smaller than asked (raise net.core.rmem_max): a burst of pushes is dropped sooner'),
        onStatus: (serial, status) => {
          const d = devices.find((x) => x.config.serial === serial);
          if (d && status.event) d.events.onPushed(status.event);
        },
        onDrop,
      });
      await listener.start();
      for (const d of devices) d.start();
      schedule.start();
      log.info({ controllers: devices.length, listen: `${listen.host}:${listener.port}` }, 'door controllers started');
    },

    async stop() {
      stopping = true;
      schedule.stop();
      for (const off of offs) off();
      await listener?.stop();
      // Each device stops polling at once, then waits for its poll, event pump and card sync: work left running wrote
      // to the database after it closed (a swipe read back during stop left a 15 s wait for its decision, which then
      // read the closed database: an uncaught TypeError). The client's stop fails the requests in flight, so the wait
      // is short, and the swipes waiting for a decision give up.
      const devicesStopped = Promise.all(devices.map((d) => d.stop()));
      await client.stop();
      for (const w of waiters.values()) w(false);
      await devicesStopped;
      // Only now can no event start a held-open timer.
      doorAlarms.stop();
      await simulation?.stop();
    },

    async idle() {
      await Promise.all(devices.flatMap((d) => [d.sync.idle(), d.events.idle()]));
    },

    routes(api: Router, guards: Guards) {
      const openLimit = new RemoteOpenLimit({ perMinute: cfg.remoteOpensPerMinute, metrics, log, now });
      controllerRoutes(api, guards, { devices, info, aps, log, now, openLimit, emit: (e) => {
        store.recordOpen(e);
        ctx.bus.emit('door.remote_opened', e);
      } });
    },

    health(): ComponentHealth {
      const down = devices.filter((d) => d.health === 'offline');
      if (down.length === 0) return { ok: true, detail: `${devices.length} controller(s)`, code: 'controllers_ok', params: { total: devices.length } };
      const ids = down.map((d) => d.id).join(', ');
      return { ok: false, detail: `${down.length} of ${devices.length} controller(s) offline: ${ids}`, code: 'controllers_offline', params: { down: down.length, total: devices.length, ids } };
    },
  };
}
