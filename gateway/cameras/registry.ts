import { z } from 'zod';
import { cameraConfig, type CameraConfig, type CamerasConfig } from '../../config/cameras.js';
import { deviceId, localizedName, type LocalizedName } from '../../config/common.js';
import type { Clock } from '../core/clock.js';
import { GatewayError, notFound } from '../core/errors.js';
import type { Database, Migration } from '../storage/db.js';
import type { CredentialBox } from './credentials.js';
import type { CameraEndpoint } from './port.js';

export const registryMigrations: Migration[] = [
  {
    version: 40,
    name: 'cameras',
    up: `
      CREATE TABLE cameras (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        host TEXT NOT NULL,
        port INTEGER NOT NULL,
        device_path TEXT NOT NULL,
        username TEXT,
        password_enc TEXT,
        auth TEXT NOT NULL,
        access_points TEXT NOT NULL,
        zones TEXT NOT NULL,
        presets TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );`,
  },
];

/** A camera as the domain knows it; `passwordEnc` never leaves the registry except to build an endpoint. */
export interface CameraRecord {
  id: string;
  name: LocalizedName;
  host: string;
  port: number;
  devicePath: string;
  username: string | null;
  auth: 'auto' | 'digest';
  accessPoints: string[];
  zones: string[];
  presets: Record<string, string>;
  simulated: boolean;
  simulation: CameraConfig['simulation'];
  /** Keeps a pre-roll for alert clips; null: the default (on when it covers an access point or a zone). */
  clips: boolean | null;
  /** `config`: from the config file, read-only through the API; `api`: added by an administrator. */
  origin: 'config' | 'api';
}

interface Stored extends CameraRecord {
  password: { plain: string } | { sealed: string } | null;
}

const base = cameraConfig.pick({ host: true, port: true, devicePath: true, auth: true, accessPoints: true, zones: true, presets: true });

/** POST /cameras */
export const cameraCreateSchema = z.strictObject({
  id: cameraConfig.shape.id,
  name: localizedName,
  ...base.shape,
  username: z.string().min(1).max(64).optional(),
  password: z.string().min(1).max(128).optional(),
});
/** PUT /cameras/:id — fields left out stay as they are; `password: null` removes it. */
export const cameraUpdateSchema = z.strictObject({
  name: localizedName.optional(),
  host: z.string().min(1).optional(),
  port: z.number().int().min(1).max(65535).optional(),
  devicePath: z.string().startsWith('/').optional(),
  auth: z.enum(['auto', 'digest']).optional(),
  accessPoints: z.array(deviceId).optional(),
  zones: z.array(z.string()).optional(),
  presets: z.record(z.string(), z.string()).optional(),
  username: z.string().min(1).max(64).nullable().optional(),
  password: z.string().min(1).max(128).nullable().optional(),
});
export type CameraCreate = z.infer<typeof cameraCreateSchema>;
export type CameraUpdate = z.infer<typeof cameraUpdateSchema>;

interface Row {
  id: string;
  name: string;
  host: string;
  port: number;
  device_path: string;
  username: string | null;
  password_enc: string | null;
  auth: 'auto' | 'digest';
  access_points: string;
  zones: string;
  presets: string;
  created_at: string;
  updated_at: string;
}

/**
 * The `name` column holds a plain name as it is and a per-language name as its JSON, so rows written before names
 * had languages read back unchanged. A plain name that happens to be such JSON reads as per-language, which is
 * what it says.
 */
function nameToColumn(name: LocalizedName): string {
  return typeof name === 'string' ? name : JSON.stringify(name);
}

function nameFromColumn(text: string): LocalizedName {
  if (!text.startsWith('{')) return text;
  try {
    const parsed = localizedName.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : text;
  } catch {
    return text;
  }
}

const defaultSimulation = { motionEveryS: 0, offlineEveryS: 0, offlineForS: 0 };

function fromConfig(c: CameraConfig): Stored {
  return {
    id: c.id,
    name: c.name,
    host: c.host,
    port: c.port,
    devicePath: c.devicePath,
    username: c.username ?? null,
    auth: c.auth,
    accessPoints: c.accessPoints,
    zones: c.zones,
    presets: c.presets,
    simulated: c.simulated,
    simulation: c.simulation,
    clips: c.clips ?? null,
    origin: 'config',
    password: c.passwordEnc ? { sealed: c.passwordEnc } : c.password ? { plain: c.password } : null,
  };
}

function fromRow(r: Row): Stored {
  return {
    id: r.id,
    name: nameFromColumn(r.name),
    host: r.host,
    port: r.port,
    devicePath: r.device_path,
    username: r.username,
    auth: r.auth,
    accessPoints: JSON.parse(r.access_points) as string[],
    zones: JSON.parse(r.zones) as string[],
    presets: JSON.parse(r.presets) as Record<string, string>,
    simulated: false,
    simulation: defaultSimulation,
    clips: null,
    origin: 'api',
    password: r.password_enc ? { sealed: r.password_enc } : null,
  };
}

function publicOf(s: Stored): CameraRecord {
  const { password: _password, ...rest } = s;
  return rest;
}

/**
 * Cameras from the config file and from the API. Config cameras are fixed (edit the file); API cameras live in
 * SQLite with their password encrypted. Listeners hear of every change so monitors can follow.
 */
export class CameraRegistry {
  private readonly fromFile = new Map<string, Stored>();
  private readonly listeners: ((id: string, record: CameraRecord | null) => void)[] = [];

  constructor(
    private readonly db: Database,
    private readonly cfg: CamerasConfig,
    private readonly clock: Clock,
    private readonly box: CredentialBox | null,
  ) {
    for (const c of cfg.cameras) this.fromFile.set(c.id, fromConfig(c));
  }

  onChange(listener: (id: string, record: CameraRecord | null) => void): void {
    this.listeners.push(listener);
  }

  private stored(id: string): Stored | null {
    const f = this.fromFile.get(id);
    if (f) return f;
    const row = this.db.prepare('SELECT * FROM cameras WHERE id = ?').get(id) as Row | undefined;
    return row ? fromRow(row) : null;
  }

  list(): CameraRecord[] {
    const rows = this.db.prepare('SELECT * FROM cameras ORDER BY id').all() as Row[];
    const out = [...this.fromFile.values()].map(publicOf);
    for (const r of rows) if (!this.fromFile.has(r.id)) out.push(publicOf(fromRow(r)));
    return out;
  }

  get(id: string): CameraRecord {
    const s = this.stored(id);
    if (!s) throw notFound(`camera ${id}`);
    return publicOf(s);
  }

  has(id: string): boolean {
    return this.stored(id) !== null;
  }

  hasPassword(id: string): boolean {
    return this.stored(id)?.password != null;
  }

  /** The cameras that cover this access point or zone. */
  covering(accessPoint: string | null, zone: string | null): CameraRecord[] {
    return this.list().filter((c) => (accessPoint && c.accessPoints.includes(accessPoint)) || (zone && c.zones.includes(zone)));
  }

  private seal(id: string, password: string): string {
    if (!this.box) {
      throw new GatewayError('conflict', 'camera passwords are stored encrypted: set cameras.secretKey (or CAMPUS_CAMERA_KEY) first');
    }
    return this.box.encrypt(id, password);
  }

  create(input: CameraCreate): CameraRecord {
    if (this.has(input.id)) throw new GatewayError('conflict', `camera ${input.id} already exists`);
    const now = new Date(this.clock.now()).toISOString();
    const sealed = input.password ? this.seal(input.id, input.password) : null;
    this.db
      .prepare(
        `INSERT INTO cameras (id, name, host, port, device_path, username, password_enc, auth, access_points, zones, presets,
           created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(input.id, nameToColumn(input.name), input.host, input.port, input.devicePath, input.username ?? null, sealed, input.auth,
        JSON.stringify(input.accessPoints), JSON.stringify(input.zones), JSON.stringify(input.presets), now, now);
    const record = this.get(input.id);
    for (const l of this.listeners) l(record.id, record);
    return record;
  }

  update(id: string, patch: CameraUpdate): CameraRecord {
    if (this.fromFile.has(id)) throw new GatewayError('conflict', `camera ${id} comes from the config file; change it there`);
    const current = this.stored(id);
    if (!current) throw notFound(`camera ${id}`);
    let sealed: string | null = current.password && 'sealed' in current.password ? current.password.sealed : null;
    if (patch.password === null) sealed = null;
    else if (patch.password !== undefined) sealed = this.seal(id, patch.password);
    const next = {
      name: patch.name ?? current.name,
      host: patch.host ?? current.host,
      port: patch.port ?? current.port,
      devicePath: patch.devicePath ?? current.devicePath,
      username: patch.username === undefined ? current.username : patch.username,
      auth: patch.auth ?? current.auth,
      accessPoints: patch.accessPoints ?? current.accessPoints,
      zones: patch.zones ?? current.zones,
      presets: patch.presets ?? current.presets,
    };
    this.db
      .prepare(
        `UPDATE cameras SET name = ?, host = ?, port = ?, device_path = ?, username = ?, password_enc = ?, auth = ?,
           access_points = ?, zones = ?, presets = ?, updated_at = ? WHERE id = ?`,
      )
      .run(nameToColumn(next.name), next.host, next.port, next.devicePath, next.username, sealed, next.auth, JSON.stringify(next.accessPoints),
        JSON.stringify(next.zones), JSON.stringify(next.presets), new Date(this.clock.now()).toISOString(), id);
    const record = this.get(id);
    for (const l of this.listeners) l(id, record);
    return record;
  }

  remove(id: string): void {
    if (this.fromFile.has(id)) throw new GatewayError('conflict', `camera ${id} comes from the config file; remove it there`);
    const r = this.db.prepare('DELETE FROM cameras WHERE id = ?').run(id);
    if (r.changes === 0) throw notFound(`camera ${id}`);
    for (const l of this.listeners) l(id, null);
  }

  /** Where and how to reach the camera, password decrypted (it lives only in the session from here on). */
  endpoint(id: string): CameraEndpoint {
    const s = this.stored(id);
    if (!s) throw notFound(`camera ${id}`);
    let password: string | undefined;
    if (s.password && 'plain' in s.password) password = s.password.plain;
    else if (s.password) {
      if (!this.box) throw new GatewayError('bad_credentials', `camera ${id}: its password is encrypted; set cameras.secretKey (or CAMPUS_CAMERA_KEY)`);
      password = this.box.decrypt(id, s.password.sealed);
    }
    return {
      id: s.id,
      host: s.host,
      port: s.port,
      devicePath: s.devicePath,
      username: s.username ?? undefined,
      password,
      auth: s.auth,
      requestTimeoutMs: this.cfg.requestTimeoutMs,
      pullTimeoutMs: this.cfg.pullTimeoutMs,
      snapshotTimeoutMs: this.cfg.snapshotTimeoutMs,
      snapshotMaxBytes: this.cfg.snapshotMaxBytes,
      basicAuth: this.cfg.basicAuth,
      maxReplyBytes: this.cfg.maxReplyBytes,
      simulation: s.simulated ? s.simulation : undefined,
    };
  }
}
