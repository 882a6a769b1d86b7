/**
 * The sensors domain: registry, ingest of the three payload families from the embedded broker, batched storage with
 * aggregates, retention, threshold rules and the REST API. Created by gateway/compose.ts, which hands it the payload
 * families and the demo simulation from drivers/sensors (this module never imports drivers/).
 */
import type { Router } from 'express';
import type { Counter } from 'prom-client';
import type { SensorsConfig } from '../../config/sensors.js';
import type { ComponentHealth, GatewayContext, GatewayModule } from '../module/context.js';
import type { Guards } from '../http/guards.js';
import type { Migration } from '../storage/db.js';
import type { Clock } from '../core/clock.js';
import type { HourlyZoneSummary, PayloadFamily, Reading, SensorReadingEvent, SensorSimulation } from './contract.js';
import { SensorIngest } from './ingest.js';
import { displayValue } from './metrics.js';
import { registryMigrations, SensorRegistry, type SensorEntry } from './registry.js';
import { RetentionPruner } from './retention.js';
import { RuleEngine } from './rules.js';
import { sensorRoutes } from './routes.js';
import { SensorStore, storageMigrations } from './storage.js';
import { hourlyZoneSummaries } from './summaries.js';
import { MetricFactory } from '../core/metrics.js';
import { InFlight } from '../core/in-flight.js';

declare module '../core/bus.js' {
  interface CampusEventMap {
    'sensor.reading': SensorReadingEvent;
  }
}

export const sensorMigrations: Migration[] = [...registryMigrations, ...storageMigrations];

export interface SensorsModuleDeps {
  families: readonly PayloadFamily[];
  /** Builds the simulation for the configured `simulated` sensors (demo school); none when omitted. */
  simulation?: (sensors: SensorEntry[]) => SensorSimulation;
  /** What retention deletes by: the wall clock only while something trustworthy confirms it (storage/retention-clock.ts). */
  retentionClock: Clock;
}

/** Readings waiting for the next write; one write op (one savepoint) per batch instead of per message. */
const FLUSH_AT = 1000;

export class SensorsModule implements GatewayModule {
  readonly name = 'sensors';
  readonly registry: SensorRegistry;
  readonly store: SensorStore;
  readonly rules: RuleEngine;
  readonly ingest: SensorIngest;
  readonly pruner: RetentionPruner;
  private pending: { sensor: SensorEntry; readings: Reading[] }[] = [];
  private pendingCount = 0;
  private flushScheduled = false;
  private lastIsoMs = Number.NaN;
  private lastIso = '';
  /** Batches being committed: stop() waits for them (the database closes right after). */
  private readonly inFlight = new InFlight();
  private unsubscribes: (() => Promise<void>)[] = [];
  private ticker: NodeJS.Timeout | undefined;
  private simulation: SensorSimulation | undefined;
  private readonly writeFailures: Counter;
  private subscribed = false;

  constructor(
    private readonly ctx: GatewayContext,
    private readonly deps: SensorsModuleDeps,
  ) {
    const cfg = ctx.config.sensors;
    const log = ctx.log.child({ component: 'sensors' });
    this.registry = new SensorRegistry(ctx.db, ctx.clock, cfg.sensors);
    this.store = new SensorStore(ctx.db);
    this.rules = new RuleEngine(ctx.alerts, ctx.clock, this.registry, { thresholds: cfg.thresholds, offlineAfterIntervals: cfg.offlineAfterIntervals });
    this.ingest = new SensorIngest(
      this.registry,
      ctx.clock,
      { maxPayloadBytes: cfg.maxPayloadBytes, maxClockSkewS: cfg.maxClockSkewS, rawDays: cfg.retention.rawDays, rejectLogEveryS: cfg.rejectLogEveryS },
      (sensor, readings, now) => this.accept(sensor, readings, now),
      log,
      ctx.metrics,
    );
    const m = new MetricFactory(ctx.metrics);
    const pruned = m.counter('campus_sensor_pruned_rows_total', 'Sensor rows deleted by retention, by table', ['table']);
    this.writeFailures = m.counter('campus_sensor_write_failures_total', 'Sensor readings lost because their batch could not be committed');
    this.pruner = new RetentionPruner(ctx.db, deps.retentionClock, cfg.retention, (table, n) => pruned.inc({ table }, n), (err) =>
      log.error({ err }, 'sensor retention pruning failed'),
    );
    this.registry.onChange((s, change) => {
      if (change === 'added') this.prepareSeries([s.id]);
      if (change === 'removed') {
        this.rules.forget(s.id);
        this.store.forget(s.id);
      }
    });
  }

  async start(): Promise<void> {
    const { ctx } = this;
    this.prepareSeries(this.registry.all().map((s) => s.id));
    this.rules.init(this.store.lastSeen());
    for (const family of this.deps.families) {
      this.unsubscribes.push(await ctx.mqtt.subscribe(family.filter, (topic, payload) => this.ingest.handle(family, topic, payload)));
    }
    this.subscribed = true;
    this.ticker = setInterval(() => this.rules.tick(), ctx.config.sensors.checkIntervalMs);
    this.ticker.unref();
    this.pruner.start();
    const simulated = this.registry.all().filter((s) => s.source.type === 'simulated');
    if (simulated.length > 0 && this.deps.simulation) {
      this.simulation = this.deps.simulation(simulated);
      this.simulation.start();
    }
  }

  async stop(): Promise<void> {
    this.simulation?.stop();
    if (this.ticker) clearInterval(this.ticker);
    for (const u of this.unsubscribes) await u().catch(() => {});
    this.unsubscribes = [];
    this.subscribed = false;
    await this.pruner.stop();
    this.flush();
    // The writer commits within its max delay; waiting here means a clean stop loses no reading.
    await this.inFlight.idle();
  }

  routes(api: Router, guards: Guards): void {
    sensorRoutes(api, guards, this);
  }

  health(): ComponentHealth {
    const all = this.registry.all();
    // Reporting: heard from and not silent since; a sensor never heard from is not counted as reporting.
    const reporting = all.filter((s) => this.rules.lastSeenAt(s.id) !== undefined && !this.rules.isOffline(s.id)).length;
    // A silent sensor is an alert, not an unhealthy gateway: only a lost subscription makes this component fail.
    return this.subscribed
      ? { ok: true, detail: `${reporting}/${all.length} sensors reporting`, code: 'sensors_reporting', params: { reporting, total: all.length } }
      : { ok: false, detail: 'not subscribed to sensor topics', code: 'sensors_unsubscribed' };
  }

  get config(): SensorsConfig {
    return this.ctx.config.sensors;
  }

  now(): number {
    return this.ctx.clock.now();
  }

  /** For cloud sync: per zone and metric over one hour (any instant within it), no personal data. */
  hourlyZoneSummaries(hour: number | Date): HourlyZoneSummary[] {
    return hourlyZoneSummaries(this.store, this.registry, typeof hour === 'number' ? hour : hour.getTime());
  }

  private accept(sensor: SensorEntry, readings: Reading[], now: number): void {
    this.rules.onReadings(sensor, readings, now);
    try {
      this.store.ensureSeries(sensor.id, readings);
    } catch (err) {
      // A new series could not be created (disk full, database locked): these readings are lost like a failed batch.
      return this.lost(err, readings.length);
    }
    this.pending.push({ sensor, readings });
    this.pendingCount += readings.length;
    if (this.pendingCount >= FLUSH_AT) {
      // A full batch commits now, not at the end of the turn: one turn of a burst from hundreds of sensors can carry
      // a second of their messages (all their sockets' data), and every reading would wait in memory until the turn
      // ended, long enough to reach V8's old space (`npm run bench -- ingest`: peak RSS 217 MB, 196 MB with this).
      this.flush();
      this.ctx.writer.flush();
    } else if (!this.flushScheduled) {
      this.flushScheduled = true;
      // After the current burst of socket data: collects every message that arrived in this turn of the loop.
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    const count = this.pendingCount;
    this.pending = [];
    this.pendingCount = 0;
    const readings = batch.length === 1 ? batch[0]!.readings : batch.flatMap((b) => b.readings);
    const p = this.ctx.writer.write(() => this.store.writeBatch(readings)).then(
      () => {
        if (this.ctx.config.sensors.busEvents === 'none') return;
        for (const { sensor, readings: rs } of batch) {
          this.ctx.bus.emit('sensor.reading', {
            sensorId: sensor.id,
            zone: sensor.zone,
            at: this.isoOf(rs[0]!.at),
            readings: rs.map((r) => ({ metric: r.metric, value: displayValue(r.metric, r.value), unit: r.unit })),
          });
        }
      },
      (err: unknown) => this.lost(err, count),
    );
    void this.inFlight.track(p);
  }

  /** A reading time as ISO text. Messages in a burst share their millisecond: one Date and string for all of them. */
  private isoOf(ms: number): string {
    if (ms !== this.lastIsoMs) {
      this.lastIsoMs = ms;
      this.lastIso = new Date(ms).toISOString();
    }
    return this.lastIso;
  }

  /** On a full disk the gateway still starts and registers sensors: their series are then made at first readings. */
  private prepareSeries(sensorIds: string[]): void {
    try {
      this.store.prepareSeries(sensorIds);
    } catch (err) {
      this.ctx.log.warn({ err, sensors: sensorIds.length }, 'sensor series could not be created ahead of their readings');
    }
  }

  private lost(err: unknown, readings: number): void {
    this.writeFailures.inc(readings);
    this.ctx.log.error({ err, readings }, 'sensor readings could not be stored');
  }
}
