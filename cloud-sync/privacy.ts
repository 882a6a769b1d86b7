/**
 * What of an alert may leave the school. Alert data is written by other modules (access puts the person and the
 * card on a lost-card alert) and by the school's flows, so nothing is copied through by default: only whitelisted
 * details that are codes or ids, and the alert's place when it is one the config names; the person, the message and
 * any free text only when the school opted in for the alerts stream.
 */
import type { PlacesPort } from './ports.js';
import type { Alert, AlertChange } from '../gateway/alerts/alerts.js';
import type { AlertData, MessageType } from './contract.js';

/** Detail keys that say what happened and where, never who. */
const SAFE_DETAILS = new Set([
  'reason',
  'readerId',
  'accessPointId',
  'accessPointKind',
  'direction',
  'gateId',
  'zone',
  'sensorId',
  'metric',
  'value',
  'threshold',
  'unit',
  'durationS',
  'cameraId',
  'event',
  'eventType',
  'denials',
  'count',
  'lastReason',
  'windowS',
  'role',
  'grade',
  'kind',
]);

/**
 * A detail's text goes without the opt-in only when it reads as a code or an id (`card_lost`, `demo-gate-in`,
 * `tns1:RuleEngine/CellMotionDetector/Motion`): what staff or a flow typed (a lockdown's reason, "丁敏 is missing")
 * has spaces or other scripts, and stays at the school.
 */
const CODE = /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$/;

const SOURCE = /^(reader|camera|sensor|gateway|city|access|access-point|flow|node-red)(:[A-Za-z0-9_.-]{1,64})?$/;

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : typeof v === 'number' ? String(v) : undefined;
}

/** The person an alert is about, from the shapes the access module uses (flat keys or a `person` object). */
function subjectOf(data: Record<string, unknown>): AlertData['subject'] {
  const p = (typeof data.person === 'object' && data.person !== null ? data.person : {}) as Record<string, unknown>;
  const subject = {
    externalId: str(p.externalId) ?? str(data.externalId) ?? str(data.personExternalId),
    name: str(p.name) ?? str(data.personName) ?? str(data.name),
    cardUid: str(data.uid) ?? str(data.cardUid),
    role: str(p.role) ?? str(data.role),
    grade: str(p.grade) ?? str(data.grade),
    class: str(p.class) ?? str(data.class),
  };
  const present = Object.fromEntries(Object.entries(subject).filter(([, v]) => v !== undefined));
  return Object.keys(present).length > 0 ? present : undefined;
}

export function alertMessageType(change: AlertChange['change']): MessageType {
  switch (change) {
    case 'raised':
      return 'alert.raised';
    case 'acknowledged':
      return 'alert.acknowledged';
    case 'resolved':
      return 'alert.resolved';
    default:
      return 'alert.updated';
  }
}

export function alertOccurredAt(change: AlertChange, now: number): number {
  const a = change.alert;
  const at =
    change.change === 'raised'
      ? a.raisedAt
      : change.change === 'repeated' || change.change === 'reopened'
        ? a.lastRaisedAt
        : change.change === 'acknowledged'
          ? a.acknowledgedAt
          : change.change === 'resolved'
            ? a.resolvedAt
            : null;
  return at ? Date.parse(at) : now;
}

/** What the school opted in to send with alerts (cloud.identifying), and where its evidence is on the gateway API. */
export interface AlertDisclosure {
  /** The subject and the local message. */
  identifying: boolean;
  /** The school's places: an alert's place that is none of them is free text, sent only with `identifying`. */
  places: PlacesPort;
  /** References to the alert's video clips. */
  clips: boolean;
  snapshotPath: (id: string) => string;
  clipPath: (id: string) => string;
}

export function toAlertData(alert: Alert, o: AlertDisclosure): AlertData {
  const details: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(alert.data)) {
    if (!SAFE_DETAILS.has(k)) continue;
    if (typeof v === 'string') {
      if (o.identifying || CODE.test(v)) details[k] = v;
    } else if (typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v))) details[k] = v;
  }
  const source = SOURCE.test(alert.source) ? alert.source : (alert.source.split(':')[0] ?? 'gateway').slice(0, 32);
  const known = o.identifying || (alert.accessPoint === null && alert.zone === null) ? undefined : o.places();
  const accessPoint = alert.accessPoint !== null && (!known || known.accessPoints.has(alert.accessPoint)) ? alert.accessPoint : null;
  const zone = alert.zone !== null && (!known || known.zones.has(alert.zone)) ? alert.zone : null;
  const place = accessPoint ?? zone;
  const data: AlertData = {
    alertId: alert.id,
    type: alert.type,
    severity: alert.severity,
    status: alert.status,
    source,
    summary: `${alert.type}${place ? ` at ${place}` : ''}`.slice(0, 200),
    accessPoint,
    zone,
    count: alert.count,
    raisedAt: alert.raisedAt,
    lastRaisedAt: alert.lastRaisedAt,
    acknowledgedAt: alert.acknowledgedAt,
    resolvedAt: alert.resolvedAt,
    acknowledgedBy: alert.acknowledgedBy === null ? null : alert.acknowledgedBy === 'city' ? 'city' : 'school',
    resolvedBy:
      alert.resolvedBy === null ? null : alert.resolvedBy === 'city' ? 'city' : alert.resolvedBy === 'gateway' ? 'gateway' : 'school',
    snapshots: alert.snapshotIds.map((id) => ({ id, path: o.snapshotPath(id) })),
    details,
  };
  // Video of pupils is more than a still: without the opt-in not even the clip ids go.
  if (o.clips && alert.clipIds.length) data.clips = alert.clipIds.map((id) => ({ id, path: o.clipPath(id) }));
  if (o.identifying) {
    data.message = alert.message.slice(0, 1000);
    const subject = subjectOf(alert.data);
    if (subject) data.subject = subject;
  }
  return data;
}
