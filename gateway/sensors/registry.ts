/**
 * Which sensors exist: those in the config file (read-only here) and those added through the API (kept in SQLite).
 * Also the lookups ingest needs on every message: by sensor id, by Zigbee2MQTT friendly name, by Tasmota topic.
 */
import { z } from 'zod';
import { sensorConfig, sensorSource, type SensorConfig } from '../../config/sensors.js';
import type { LocalizedName } from '../../config/common.js';
import type { Clock } from '../core/clock.js';
import { GatewayError, notFound } from '../core/errors.js';
import type { Database, Migration } from '../storage/db.js';
import type { PayloadFamilyName } from './contract.js';

/** What the API accepts for a sensor; broker credentials stay in the config file. */
// Names are kept for sensors in the config file only: the API's sensors table has no column for them yet.
export const sensorInput = sensorConfig.omit({ secretHash: true, name: true });
export type SensorInput = z.infer<typeof sensorInput>;

export interface SensorEntry {
  id: string;
  /** From the config file; null for a sensor added through the API (shown by its id). */
  name: LocalizedName | null;
  zone: string;
  kind: string;
  model: string | null;
  intervalS: number;
  source: SensorConfig['source'];
  origin: 'config' | 'api';
}

export const registryMigrations: Migration[] = [
  {
    version: 30,
    name: 'sensor registry',
    up: `CREATE TABLE sensors (
      id TEXT PRIMARY KEY,
      zone TEXT NOT NULL,
      kind TEXT NOT NULL,
      model TEXT,
      interval_s INTEGER NOT NULL,
      source TEXT NOT NULL,
      created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL)`,
  },
];

interface Row {
  id: string;
  zone: string;
  kind: string;
  model: string | null;
  interval_s: number;
  source: string;
}

const deviceKey = (s: Pick<SensorEntry, 'source'>): { family: PayloadFamilyName; key: string } | null =>
  s.source.type === 'zigbee2mqtt'
    ? { family: 'zigbee2mqtt', key: s.source.friendlyName }
    : s.source.type === 'tasmota'
      ? { family: 'tasmota', key: s.source.device }
      : null;

export class SensorRegistry {
  private readonly byId = new Map<string, SensorEntry>();
  private readonly byDevice = new Map<string, SensorEntry>();
  private readonly listeners = new Set<(s: SensorEntry, change: 'added' | 'updated' | 'removed') => void>();

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    fromConfig: readonly SensorConfig[],
  ) {
    for (const c of fromConfig) {
      this.index({ id: c.id, name: c.name ?? null, zone: c.zone, kind: c.kind, model: c.model ?? null, intervalS: c.intervalS, source: c.source, origin: 'config' });
    }
    for (const r of db.prepare('SELECT * FROM sensors ORDER BY id').all() as Row[]) {
      // A sensor later added to the config file takes precedence over the API's copy.
      if (this.byId.has(r.id)) continue;
      const source = sensorSource.safeParse(JSON.parse(r.source));
      if (!source.success) continue;
      this.index({ id: r.id, name: null, zone: r.zone, kind: r.kind, model: r.model, intervalS: r.interval_s, source: source.data, origin: 'api' });
    }
  }

  onChange(listener: (s: SensorEntry, change: 'added' | 'updated' | 'removed') => void): void {
    this.listeners.add(listener);
  }

  /** Every sensor, from the config file and the API. */
  list(): SensorEntry[] {
    return [...this.byId.values()];
  }

  get(id: string): SensorEntry | undefined {
    return this.byId.get(id);
  }

  require(id: string): SensorEntry {
    const s = this.byId.get(id);
    if (!s) throw notFound(`sensor ${id}`);
    return s;
  }

  /** The sensor a message of this family and device key belongs to. */
  resolve(family: PayloadFamilyName, key: string): SensorEntry | undefined {
    return family === 'native' ? this.byId.get(key) : this.byDevice.get(`${family}\0${key}`);
  }

  all(): SensorEntry[] {
    return [...this.byId.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Adds (201) or replaces (200) a sensor kept in SQLite; config sensors are edited in the config file. */
  upsert(input: SensorInput): { sensor: SensorEntry; created: boolean } {
    const existing = this.byId.get(input.id);
    if (existing?.origin === 'config') {
      throw new GatewayError('conflict', `sensor ${input.id} is defined in the config file; change it there`);
    }
    const entry: SensorEntry = {
      id: input.id,
      name: null,
      zone: input.zone,
      kind: input.kind,
      model: input.model ?? null,
      intervalS: input.intervalS,
      source: input.source,
      origin: 'api',
    };
    const dk = deviceKey(entry);
    const owner = dk && this.byDevice.get(`${dk.family}\0${dk.key}`);
    if (owner && owner.id !== entry.id) {
      throw new GatewayError('conflict', `${dk.family} device "${dk.key}" already belongs to sensor ${owner.id}`);
    }
    const now = new Date(this.clock.now()).toISOString();
    this.db
      .prepare(
        `INSERT INTO sensors (id, zone, kind, model, interval_s, source, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET zone = excluded.zone, kind = excluded.kind, model = excluded.model,
           interval_s = excluded.interval_s, source = excluded.source, updated_at = excluded.updated_at`,
      )
      .run(entry.id, entry.zone, entry.kind, entry.model, entry.intervalS, JSON.stringify(entry.source), now, now);
    if (existing) this.unindex(existing);
    this.index(entry);
    for (const l of this.listeners) l(entry, existing ? 'updated' : 'added');
    return { sensor: entry, created: !existing };
  }

  remove(id: string): SensorEntry {
    const existing = this.require(id);
    if (existing.origin === 'config') throw new GatewayError('conflict', `sensor ${id} is defined in the config file; remove it there`);
    this.db.prepare('DELETE FROM sensors WHERE id = ?').run(id);
    this.unindex(existing);
    for (const l of this.listeners) l(existing, 'removed');
    return existing;
  }

  private index(s: SensorEntry): void {
    this.byId.set(s.id, s);
    const dk = deviceKey(s);
    if (dk) this.byDevice.set(`${dk.family}\0${dk.key}`, s);
  }

  private unindex(s: SensorEntry): void {
    this.byId.delete(s.id);
    const dk = deviceKey(s);
    if (dk && this.byDevice.get(`${dk.family}\0${dk.key}`)?.id === s.id) this.byDevice.delete(`${dk.family}\0${dk.key}`);
  }
}

/** `classroom-*` → matches `classroom-101`. Only `*` is special. */
export function zoneMatcher(pattern: string): (zone: string) => boolean {
  if (!pattern.includes('*')) return (zone) => zone === pattern;
  const re = new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\-]/g, '\\$&')).join('.*')}$`);
  return (zone) => re.test(zone);
}
