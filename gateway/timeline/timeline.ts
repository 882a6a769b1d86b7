/**
 * The timeline: taps, alerts, camera events, lockdown changes and remote door opens in one time order, paged back
 * with a keyset cursor.
 *
 * A read model above the domains. Each source keeps its own time: taps.at, camera_events.at and door_opens.at are
 * epoch ms; alerts.raised_at and lockdowns.started_at/ended_at are ISO text (always `toISOString()`, so milliseconds
 * sit at characters 21-23). One query takes, per source, the newest `limit` rows below the cursor by its own index and
 * merges them; the order is (at, kind, id) descending, so rows with the same millisecond are neither lost nor repeated
 * across pages. Lockdown changes concern the whole school and stay in every filtered view.
 */
import type { Alert } from '../alerts/alerts.js';
import type { Database } from '../storage/db.js';
import { TAPS_WITH_PERSON, tapViewFromRow, type TapRow } from '../access/taps-store.js';

export const TIMELINE_KINDS = ['alert', 'camera', 'door', 'lockdown', 'tap'] as const;
export type TimelineKind = (typeof TIMELINE_KINDS)[number];

export interface Cursor {
  at: number;
  kind: TimelineKind;
  id: string;
}

/** `<epoch ms>~<kind>~<id>`: readable in a log, opaque to the console. */
export const CURSOR = /^(\d{1,15})~(alert|camera|door|lockdown|tap)~([0-9A-Za-z.]{1,40})$/;

export const encodeCursor = (c: Cursor): string => `${c.at}~${c.kind}~${c.id}`;

export function decodeCursor(s: string): Cursor {
  const m = CURSOR.exec(s);
  if (!m) throw new Error('not a timeline cursor');
  return { at: Number(m[1]), kind: m[2] as TimelineKind, id: m[3]! };
}

interface Base {
  kind: TimelineKind;
  id: string;
  at: string;
  cursor: string;
}

export interface TapItem extends Base {
  kind: 'tap';
  readerId: string;
  accessPoint: string | null;
  direction: 'in' | 'out' | null;
  granted: boolean;
  reason: string;
  uid: string;
  amount: number | null;
  balance: number | null;
  person: { externalId: string; name: string; class: string | null } | null;
}

export interface AlertItem extends Base {
  kind: 'alert';
  alert: Pick<Alert, 'id' | 'type' | 'severity' | 'status' | 'source' | 'message' | 'accessPoint' | 'zone' | 'data' | 'snapshotIds' | 'count' | 'raisedAt'>;
  externalId: string | null;
  /** The card the alert is about, where it is about one (removed for viewers with the other personal fields). */
  uid: string | null;
}

export interface CameraItem extends Base {
  kind: 'camera';
  cameraId: string;
  event: string;
  topic: string;
  accessPoints: string[];
  zones: string[];
}

export interface LockdownItem extends Base {
  kind: 'lockdown';
  active: boolean;
  by: string;
  reason: string | null;
}

/** Doors opened remotely (drivers/controllers: `door_opens`): who, why, which of the access point's doors. */
export interface DoorItem extends Base {
  kind: 'door';
  accessPoint: string;
  readers: string[];
  by: string;
  reason: string | null;
}

export type TimelineItem = TapItem | AlertItem | CameraItem | LockdownItem | DoorItem;
/** One kind of item without the fields every kind has (`Omit` taken per kind, so `kind` still tells them apart). */
type ItemFields<I> = I extends Base ? Omit<I, 'id' | 'at' | 'cursor'> : never;

export interface TimelineQuery {
  before?: string | undefined;
  limit: number;
  camera?: string | undefined;
  accessPoint?: string | undefined;
  /** A person's external id. */
  person?: string | undefined;
}

export interface TimelineDeps {
  db: Database;
  alert: (id: string) => Alert;
  /** What a camera covers; null for an unknown camera. */
  cameraCoverage: (id: string) => { accessPoints: string[]; zones: string[] } | null;
}

const ISO_MS = (col: string): string => `(CAST(strftime('%s', ${col}) AS INTEGER) * 1000 + CAST(substr(${col}, 21, 3) AS INTEGER))`;

interface Part {
  kind: TimelineKind;
  /** SELECT at, kind, id FROM … WHERE (without the keyset condition). */
  from: string;
  at: string;
  id: string;
  where: string[];
  args: (string | number)[];
}

/** Below the cursor in (at, kind, id) descending order, for a source whose rows all have one kind. */
function keyset(p: Part, c: Cursor | null): { sql: string; args: (string | number)[] } {
  if (!c) return { sql: '', args: [] };
  if (p.kind < c.kind) return { sql: `${p.at} <= ?`, args: [c.at] };
  if (p.kind > c.kind) return { sql: `${p.at} < ?`, args: [c.at] };
  return { sql: `(${p.at} < ? OR (${p.at} = ? AND ${p.id} < ?))`, args: [c.at, c.at, c.id] };
}

const placeholders = (n: number): string => Array.from({ length: n }, () => '?').join(', ');

export class Timeline {
  constructor(private readonly deps: TimelineDeps) {}

  page(q: TimelineQuery): { items: TimelineItem[]; nextBefore: string | null } {
    const cursor = q.before ? decodeCursor(q.before) : null;
    const parts = this.parts(q);
    const sqls: string[] = [];
    const args: (string | number)[] = [];
    for (const p of parts) {
      const k = keyset(p, cursor);
      const where = [...p.where, ...(k.sql ? [k.sql] : [])];
      sqls.push(
        `SELECT * FROM (SELECT ${p.at} AS at, '${p.kind}' AS kind, ${p.id} AS id FROM ${p.from}` +
          `${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${p.at} DESC, ${p.id} DESC LIMIT ?)`,
      );
      args.push(...p.args, ...k.args, q.limit);
    }
    const keys = this.deps.db
      .prepare(`${sqls.join(' UNION ALL ')} ORDER BY at DESC, kind DESC, id DESC LIMIT ?`)
      .all(...args, q.limit) as { at: number; kind: TimelineKind; id: string }[];
    const items = this.details(keys);
    const last = keys[keys.length - 1];
    return { items, nextBefore: keys.length === q.limit && last ? encodeCursor(last) : null };
  }

  private parts(q: TimelineQuery): Part[] {
    const cover = q.camera ? (this.deps.cameraCoverage(q.camera) ?? { accessPoints: [], zones: [] }) : null;
    const tap: Part = { kind: 'tap', from: 'taps', at: 'at', id: 'id', where: [], args: [] };
    const alert: Part = { kind: 'alert', from: 'alerts', at: ISO_MS('raised_at'), id: 'id', where: [], args: [] };
    const camera: Part = { kind: 'camera', from: 'camera_events', at: 'at', id: "printf('%012d', id)", where: [], args: [] };
    const started: Part = { kind: 'lockdown', from: 'lockdowns', at: ISO_MS('started_at'), id: "printf('%010d.1', id)", where: [], args: [] };
    const ended: Part = { kind: 'lockdown', from: 'lockdowns', at: ISO_MS('ended_at'), id: "printf('%010d.2', id)", where: ['ended_at IS NOT NULL'], args: [] };
    const door: Part = { kind: 'door', from: 'door_opens', at: 'at', id: "printf('%012d', id)", where: [], args: [] };
    const none = '0';
    if (cover) {
      // A camera's page: what it saw, what happened where it looks, and the alerts it raised.
      tap.where.push(cover.accessPoints.length ? `access_point IN (${placeholders(cover.accessPoints.length)})` : none);
      tap.args.push(...cover.accessPoints);
      const places = [
        'source = ?',
        ...(cover.accessPoints.length ? [`access_point IN (${placeholders(cover.accessPoints.length)})`] : []),
        ...(cover.zones.length ? [`zone IN (${placeholders(cover.zones.length)})`] : []),
      ];
      alert.where.push(`(${places.join(' OR ')})`);
      alert.args.push(`camera:${q.camera}`, ...cover.accessPoints, ...cover.zones);
      camera.where.push('camera_id = ?');
      camera.args.push(q.camera!);
      door.where.push(cover.accessPoints.length ? `access_point IN (${placeholders(cover.accessPoints.length)})` : none);
      door.args.push(...cover.accessPoints);
    }
    if (q.accessPoint) {
      tap.where.push('access_point = ?');
      tap.args.push(q.accessPoint);
      alert.where.push('access_point = ?');
      alert.args.push(q.accessPoint);
      camera.where.push('EXISTS (SELECT 1 FROM json_each(camera_events.access_points) WHERE value = ?)');
      camera.args.push(q.accessPoint);
      door.where.push('access_point = ?');
      door.args.push(q.accessPoint);
    }
    if (q.person) {
      tap.where.push('person_id = (SELECT id FROM persons WHERE external_id = ?)');
      tap.args.push(q.person);
      alert.where.push("json_extract(data, '$.externalId') = ?");
      alert.args.push(q.person);
      camera.where.push(none);
      door.where.push(none);
    }
    return [tap, alert, camera, started, ended, door];
  }

  /** Rows of a table keyed by an integer id, with `key`: the id as the timeline's zero-padded item id. */
  private rowsByKey<R>(table: 'camera_events' | 'door_opens', ids: string[]): R[] {
    if (ids.length === 0) return [];
    return this.deps.db
      .prepare(`SELECT printf('%012d', id) AS key, * FROM ${table} WHERE id IN (${placeholders(ids.length)})`)
      .all(...ids.map(Number)) as R[];
  }

  private details(keys: { at: number; kind: TimelineKind; id: string }[]): TimelineItem[] {
    const byKind = (k: TimelineKind): string[] => keys.filter((x) => x.kind === k).map((x) => x.id);
    const found = new Map<string, TimelineItem>();
    /** Files one item under `<kind>~<id>`, adding what every kind has: the id, the time as ISO text, the cursor. */
    const put = (id: string, at: number, fields: ItemFields<TimelineItem>): void => {
      const { kind } = fields;
      // Common fields first, as the API has always listed them (a spread would complain that `kind` is set twice).
      found.set(`${kind}~${id}`, Object.assign({ kind, id, at: new Date(at).toISOString(), cursor: encodeCursor({ at, kind, id }) }, fields));
    };
    const tapIds = byKind('tap');
    if (tapIds.length) {
      const rows = this.deps.db
        .prepare(`${TAPS_WITH_PERSON} WHERE t.id IN (${placeholders(tapIds.length)})`)
        .all(...tapIds) as TapRow[];
      for (const r of rows) {
        const t = tapViewFromRow(r);
        put(t.id, t.at, {
          kind: 'tap',
          readerId: t.readerId,
          accessPoint: t.accessPoint,
          direction: t.direction,
          granted: t.granted,
          reason: t.reason,
          uid: t.uid,
          amount: t.amount,
          balance: t.balance,
          person: t.person,
        });
      }
    }
    for (const k of keys) {
      if (k.kind === 'alert') {
        let a: Alert;
        try {
          a = this.deps.alert(k.id);
        } catch {
          continue;
        }
        const uid = typeof a.data['uid'] === 'string' ? a.data['uid'] : null;
        const externalId = typeof a.data['externalId'] === 'string' ? a.data['externalId'] : null;
        put(k.id, k.at, {
          kind: 'alert',
          alert: { id: a.id, type: a.type, severity: a.severity, status: a.status, source: a.source, message: a.message,
            accessPoint: a.accessPoint, zone: a.zone, data: a.data, snapshotIds: a.snapshotIds, count: a.count, raisedAt: a.raisedAt },
          externalId,
          uid,
        });
      }
    }
    for (const r of this.rowsByKey<CameraRow>('camera_events', byKind('camera'))) {
      put(r.key, r.at, {
        kind: 'camera',
        cameraId: r.camera_id,
        event: r.kind,
        topic: r.topic,
        accessPoints: JSON.parse(r.access_points) as string[],
        zones: JSON.parse(r.zones) as string[],
      });
    }
    for (const r of this.rowsByKey<DoorRow>('door_opens', byKind('door'))) {
      put(r.key, r.at, { kind: 'door', accessPoint: r.access_point, readers: JSON.parse(r.readers) as string[], by: r.by, reason: r.reason });
    }
    const lockIds = byKind('lockdown');
    if (lockIds.length) {
      const rows = this.deps.db
        .prepare(`SELECT * FROM lockdowns WHERE id IN (${placeholders(lockIds.length)})`)
        .all(...lockIds.map((s) => Number(s.split('.')[0]))) as LockdownRow[];
      const byId = new Map(rows.map((r) => [r.id, r]));
      for (const k of keys) {
        if (k.kind !== 'lockdown') continue;
        const r = byId.get(Number(k.id.split('.')[0]));
        if (!r) continue;
        const start = k.id.endsWith('.1');
        put(k.id, k.at, {
          kind: 'lockdown',
          active: start,
          by: (start ? r.started_by : r.ended_by) ?? '',
          reason: start ? r.reason : null,
        });
      }
    }
    // A row deleted between the two reads (retention, erasure) is left out rather than shown half.
    return keys.flatMap((k) => {
      const item = found.get(`${k.kind}~${k.id}`);
      return item ? [item] : [];
    });
  }
}

interface CameraRow {
  key: string;
  at: number;
  camera_id: string;
  kind: string;
  topic: string;
  access_points: string;
  zones: string;
}

interface DoorRow {
  key: string;
  at: number;
  access_point: string;
  readers: string;
  by: string;
  reason: string;
}

interface LockdownRow {
  id: number;
  started_by: string;
  reason: string | null;
  ended_by: string | null;
}
