/**
 * Adapters from the domain modules to the ports the flow API uses. The composition root calls `flowAdapters`
 * with whichever modules this gateway has; a missing one leaves that capability off (the node says so).
 */
import { readFile } from 'node:fs/promises';
import type { AttendanceRegister } from '../attendance/register.js';
import type { CamerasModule } from '../cameras/module.js';
import type { SensorRegistry } from '../sensors/registry.js';
import { GatewayError } from '../core/errors.js';
import type { Database } from '../storage/db.js';
import type { AttendancePort, AttendanceStatus, FlowAdapters, FlowPerson, SnapshotPort } from './api.js';

const statuses: AttendanceStatus[] = ['present', 'late', 'absent', 'excused', 'expected'];

export function attendancePort(register: AttendanceRegister, db: Database): AttendancePort {
  const idOf = db.prepare<[string], { id: number }>('SELECT id FROM persons WHERE external_id = ?');
  const externalIdOf = db.prepare<[number], { external_id: string }>('SELECT external_id FROM persons WHERE id = ?');
  return {
    async personDays(who, dates) {
      const externalId = who.externalId ?? (who.personId !== undefined ? externalIdOf.get(who.personId)?.external_id : undefined);
      if (!externalId) return null;
      let r;
      try {
        r = register.personDays(externalId, dates);
      } catch (err) {
        if (err instanceof GatewayError && err.code === 'not_found') return null;
        throw err;
      }
      const d = r.days[0];
      if (!d) return null;
      const person: FlowPerson = { id: r.personId, externalId: d.externalId, name: d.name, class: d.class, grade: d.grade };
      return { person, days: r.days.map((day, i) => ({ date: dates[i]!, status: day.status, firstIn: day.firstIn, lastOut: day.lastOut })) };
    },
    async classDay(className, date) {
      const r = register.report(date, { class: className, role: 'student' });
      const counts: Record<string, number> = { enrolled: r.totals.enrolled };
      for (const s of statuses) counts[s] = r.totals[s];
      return {
        date,
        counts,
        persons: r.people.map((p) => ({
          person: { id: idOf.get(p.externalId)?.id ?? null, externalId: p.externalId, name: p.name, class: p.class, grade: p.grade },
          status: p.status,
        })),
      };
    },
  };
}

/** A snapshot taken now and stored by the cameras domain (under its retention), read back for the flow. */
export function snapshotPort(cameras: Pick<CamerasModule, 'takeSnapshot' | 'snapshots'>): SnapshotPort {
  return {
    async take(cameraId) {
      const meta = await cameras.takeSnapshot(cameraId, 'fresh');
      const image = await readFile(cameras.snapshots.file(meta.id));
      return { id: meta.id, cameraId: meta.cameraId, image, contentType: 'image/jpeg', takenAt: meta.takenAt };
    },
  };
}

export interface FlowDomains {
  db: Database;
  attendance?: { register: AttendanceRegister } | undefined;
  cameras?: Pick<CamerasModule, 'takeSnapshot' | 'snapshots' | 'registry'> | undefined;
  sensors?: { registry: Pick<SensorRegistry, 'get' | 'list'> } | undefined;
}

export function flowAdapters(d: FlowDomains): FlowAdapters {
  return {
    attendance: d.attendance ? attendancePort(d.attendance.register, d.db) : undefined,
    snapshots: d.cameras ? snapshotPort(d.cameras) : undefined,
    sensorZone: d.sensors ? (id) => d.sensors?.registry.get(id)?.zone : undefined,
    places: {
      cameras: d.cameras ? () => d.cameras!.registry.list() : undefined,
      sensorZones: d.sensors ? () => d.sensors!.registry.list().map((s) => s.zone) : undefined,
    },
  };
}
