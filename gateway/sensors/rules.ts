/**
 * Threshold rules and silence detection. State is per rule and sensor, in memory, rebuilt on start from the alerts
 * still open (so a restart neither forgets a raised alert nor raises it twice). Each alert has a stable dedup key,
 * `<type>:sensor:<id>`, so clearing resolves exactly the alert this condition raised.
 *
 * Durations are measured on the gateway's clock at arrival, not on the device's timestamps: a device whose clock is
 * off must not be able to shorten or lengthen "5 minutes above 1500 ppm".
 *
 * An alert resolves only once its condition has stayed clear for the rule's `clearForS`. Resolved at the first clear
 * reading, a smoke detector alternating true and false (a faulty one, or one whose secret leaked) raised a new critical
 * alert at every flap, each sent to the city and photographed by the zone's cameras: 25 a second within the publish rate.
 */
import type { ThresholdConfig } from '../../config/sensors.js';
import type { AlertService } from '../alerts/alerts.js';
import type { Clock } from '../core/clock.js';
import type { MetricName } from './contract.js';
import { metricCatalog } from './metrics.js';
import { zoneMatcher, type SensorEntry, type SensorRegistry } from './registry.js';

interface CompiledRule {
  cfg: ThresholdConfig;
  zone: (zone: string) => boolean;
  /** The dedup key per sensor, built once: a reading looks its state up without building a string. */
  keys: Map<string, string>;
}

interface RuleState {
  rule: CompiledRule;
  sensorId: string;
  /** When the value first went past the limit in the current run of breaching readings. */
  since: number | undefined;
  active: boolean;
  /** While the alert is open: when the value first came back clear in the current run of clear readings. */
  clearSince: number | undefined;
  lastValue: number;
  lastAt: number;
}

export interface RuleEngineOptions {
  thresholds: readonly ThresholdConfig[];
  offlineAfterIntervals: number;
}

const fmt = (metric: MetricName, v: number): string => {
  const spec = metricCatalog[metric];
  return spec.kind === 'boolean' ? (v === 1 ? 'true' : 'false') : `${Math.round(v * 10) / 10} ${spec.unit}`;
};

export class RuleEngine {
  private readonly rules: CompiledRule[];
  /** The rules per metric and zone, found once per pair (nested maps: no key string per reading). */
  private readonly byMetricZone = new Map<MetricName, Map<string, CompiledRule[]>>();
  private readonly states = new Map<string, RuleState>();
  /** Dedup keys of alerts still open from before this start, whose rule has not seen a reading yet. */
  private readonly restored = new Set<string>();
  private readonly offline = new Set<string>();
  private readonly lastSeen = new Map<string, number>();
  private startedAt = 0;

  constructor(
    private readonly alerts: AlertService,
    private readonly clock: Clock,
    private readonly registry: SensorRegistry,
    private readonly opts: RuleEngineOptions,
  ) {
    this.rules = opts.thresholds.map((cfg) => {
      const matchers = cfg.zones.map(zoneMatcher);
      return { cfg, zone: (z: string) => matchers.some((m) => m(z)), keys: new Map<string, string>() };
    });
  }

  /** `lastSeen`: newest stored reading per sensor, so silence is counted across restarts. */
  init(lastSeen: Map<string, number>): void {
    this.startedAt = this.clock.now();
    for (const [id, at] of lastSeen) this.lastSeen.set(id, at);
    let before: string | undefined;
    for (;;) {
      const page = this.alerts.list({ status: ['open', 'acknowledged'], limit: 500, before });
      for (const a of page.items) {
        if (!a.source.startsWith('sensor:')) continue;
        if (a.type === 'sensor_offline') this.offline.add(a.source.slice(7));
        else this.restored.add(a.dedupKey);
      }
      if (!page.nextBefore) break;
      before = page.nextBefore;
    }
  }

  lastSeenAt(sensorId: string): number | undefined {
    return this.lastSeen.get(sensorId);
  }

  isOffline(sensorId: string): boolean {
    return this.offline.has(sensorId);
  }

  private rulesFor(metric: MetricName, zone: string): CompiledRule[] {
    let byZone = this.byMetricZone.get(metric);
    if (!byZone) this.byMetricZone.set(metric, (byZone = new Map()));
    let list = byZone.get(zone);
    if (!list) {
      list = this.rules.filter((r) => r.cfg.metric === metric && r.zone(zone));
      byZone.set(zone, list);
    }
    return list;
  }

  /** Called for every message from a known sensor, readings already validated. */
  onReadings(sensor: SensorEntry, readings: readonly { metric: MetricName; value: number }[], now: number): void {
    this.lastSeen.set(sensor.id, now);
    if (this.offline.has(sensor.id)) {
      this.offline.delete(sensor.id);
      this.resolve(`sensor_offline:sensor:${sensor.id}`, `sensor ${sensor.id} reports again`);
    }
    for (const r of readings) {
      for (const rule of this.rulesFor(r.metric, sensor.zone)) this.evaluate(rule, sensor, r.metric, r.value, now);
    }
  }

  private evaluate(rule: CompiledRule, sensor: SensorEntry, metric: MetricName, value: number, now: number): void {
    const { cfg } = rule;
    let key = rule.keys.get(sensor.id);
    if (key === undefined) rule.keys.set(sensor.id, (key = `${cfg.type}:sensor:${sensor.id}`));
    let st = this.states.get(key);
    if (!st) {
      st = { rule, sensorId: sensor.id, since: undefined, active: this.restored.delete(key), clearSince: undefined, lastValue: value, lastAt: now };
      this.states.set(key, st);
    }
    st.lastValue = value;
    st.lastAt = now;
    const breached =
      cfg.equals !== undefined ? (value === 1) === cfg.equals : cfg.above !== undefined ? value > cfg.above : value < (cfg.below ?? -Infinity);
    if (st.active) {
      const clear = cfg.clearAt ?? cfg.above ?? cfg.below;
      const cleared =
        cfg.equals !== undefined || clear === undefined ? !breached : cfg.above !== undefined ? value < clear : value > clear;
      if (!cleared) st.clearSince = undefined;
      else {
        st.clearSince ??= now;
        this.clearIfLong(key, st, now);
      }
      return;
    }
    if (!breached) {
      st.since = undefined;
      return;
    }
    st.since ??= now;
    if (now - st.since >= cfg.forS * 1000) this.raise(st, sensor, metric, now);
  }

  /** Between readings: durations that have run out, and sensors gone silent. */
  tick(): void {
    const now = this.clock.now();
    for (const [key, st] of this.states) {
      if (st.active) {
        // A sensor that said "clear" once and then reports only every few minutes (a smoke detector's 300 s).
        this.clearIfLong(key, st, now);
        continue;
      }
      if (st.since === undefined) continue;
      const sensor = this.registry.get(st.sensorId);
      if (!sensor) continue;
      // A breach is only as current as its last reading: a silent sensor becomes `sensor_offline`, not `co2_high`.
      if (now - st.lastAt > this.opts.offlineAfterIntervals * sensor.intervalS * 1000) continue;
      if (now - st.since >= st.rule.cfg.forS * 1000) this.raise(st, sensor, st.rule.cfg.metric, now);
    }
    for (const sensor of this.registry.all()) {
      if (this.offline.has(sensor.id)) continue;
      const silentMs = now - (this.lastSeen.get(sensor.id) ?? this.startedAt);
      if (silentMs < this.opts.offlineAfterIntervals * sensor.intervalS * 1000) continue;
      const raised = this.alerts.tryRaise({
        type: 'sensor_offline',
        severity: 'warning',
        source: `sensor:${sensor.id}`,
        zone: sensor.zone,
        dedupKey: `sensor_offline:sensor:${sensor.id}`,
        message: `Sensor ${sensor.id} in ${sensor.zone} silent for ${Math.round(silentMs / 1000)} s (expected every ${sensor.intervalS} s)`,
        data: { sensorId: sensor.id, lastSeenAt: this.lastSeen.has(sensor.id) ? new Date(this.lastSeen.get(sensor.id)!).toISOString() : null },
      });
      // Not recorded (a full disk; counted and logged by tryRaise): ingest goes on and the next tick tries again.
      if (raised) this.offline.add(sensor.id);
    }
  }

  /** A sensor removed from the registry: its conditions can never clear by themselves, so clear them now. */
  forget(sensorId: string): void {
    for (const [key, st] of this.states) {
      if (st.sensorId !== sensorId) continue;
      if (st.active) this.resolve(key, `sensor ${sensorId} removed`);
      this.states.delete(key);
    }
    if (this.offline.delete(sensorId)) this.resolve(`sensor_offline:sensor:${sensorId}`, `sensor ${sensorId} removed`);
    this.lastSeen.delete(sensorId);
    for (const rule of this.rules) rule.keys.delete(sensorId);
  }

  /** Resolves an open alert whose condition has been clear for the rule's `clearForS`. */
  private clearIfLong(key: string, st: RuleState, now: number): void {
    if (st.clearSince === undefined || now - st.clearSince < st.rule.cfg.clearForS * 1000) return;
    st.active = false;
    st.since = undefined;
    st.clearSince = undefined;
    this.resolve(key, `${st.rule.cfg.metric} back to ${fmt(st.rule.cfg.metric, st.lastValue)}`);
  }

  private raise(st: RuleState, sensor: SensorEntry, metric: MetricName, now: number): void {
    const { cfg } = st.rule;
    const limit = cfg.equals !== undefined ? '' : cfg.above !== undefined ? ` above ${fmt(metric, cfg.above)}` : ` below ${fmt(metric, cfg.below!)}`;
    const lasted = cfg.forS > 0 ? ` for ${Math.round((now - (st.since ?? now)) / 1000)} s` : '';
    // Not recorded (a full disk): not active, so the next reading tries again.
    st.active =
      this.alerts.tryRaise({
        type: cfg.type,
        severity: cfg.severity,
        source: `sensor:${sensor.id}`,
        zone: sensor.zone,
        dedupKey: `${cfg.type}:sensor:${sensor.id}`,
        message: `${metric} ${fmt(metric, st.lastValue)} in ${sensor.zone}${limit}${lasted} (sensor ${sensor.id})`,
        data: {
          sensorId: sensor.id,
          metric,
          value: st.lastValue,
          unit: metricCatalog[metric].unit,
          ...(cfg.above !== undefined && { above: cfg.above }),
          ...(cfg.below !== undefined && { below: cfg.below }),
          ...(cfg.clearAt !== undefined && { clearAt: cfg.clearAt }),
          forS: cfg.forS,
        },
      }) !== null;
  }

  private resolve(key: string, note: string): void {
    this.alerts.tryResolveByKey(key, 'gateway', note);
  }
}
