/**
 * Texts the gateway writes in English for people (alert messages, its own resolve notes, API and camera error
 * messages), shown in the console's language from what is stable about them: an alert's `type` and `data`, an
 * error's `code`. What the console does not know (a type from a school's own flow, a manual report typed by a
 * guard, data without the fields a text needs, a new error code) is shown as the gateway sent it.
 */
import { ApiError } from './api.js';
import { fmtNumber, t, tKnown, tKnownWith } from './i18n/index.js';
import { fmtDateTime } from './time.js';
import { cameraName, personName, placeName, readerName, sensorName, zoneName } from './names.js';
import type { Alert, ComponentReport } from './types.js';

type Data = Record<string, unknown>;

const text = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined);
const count = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const label = (prefix: string, code: string): string => tKnown(`${prefix}.${code}`) ?? code;

/** "王芳（S20250002）" when the name is known, else the student or staff number. */
function person(d: Data): string | undefined {
  const id = text(d.externalId);
  if (!id) return undefined;
  const name = personName(count(d.personId));
  return name ? t('alertText.person', { name, id }) : id;
}

/** The access point's name ("正门"), else its id, else the reader. */
function place(a: Alert, d: Data): string | undefined {
  if (a.accessPoint) return placeName(a.accessPoint) ?? a.accessPoint;
  const reader = text(d.readerId);
  return reader ? (readerName(reader) ?? t('alertText.reader', { id: reader })) : undefined;
}

/** Devices and zones by their names in the console's language; the id (shown in the alert's details) when unnamed. */
function camera(d: Data): string | undefined {
  const id = text(d.cameraId);
  return id ? (cameraName(id) ?? id) : undefined;
}

const zone = (a: Alert): string | undefined => (a.zone ? (zoneName(a.zone) ?? a.zone) : undefined);
const sensor = (d: Data): string | undefined => {
  const id = text(d.sensorId);
  return id ? (sensorName(id) ?? id) : undefined;
};
const reader = (d: Data): string | undefined => {
  const id = text(d.readerId);
  return id ? (readerName(id) ?? id) : undefined;
};

/** A value with its unit; alarms (smoke, leak) travel as 1 / 0 with the unit `bool`. */
function reading(d: Data, v: unknown): string | undefined {
  const unit = text(d.unit);
  if (typeof v === 'boolean') return v ? t('env.alarm') : t('env.clear');
  if (typeof v !== 'number' || !Number.isFinite(v)) return undefined;
  if (unit === 'bool') return v === 1 ? t('env.alarm') : t('env.clear');
  return `${fmtNumber(v)}${unit ? ` ${unit}` : ''}`;
}

/** A camera error from its stable code ("wrong user name or password"), else as sent. */
export function cameraErrorText(code: string | null | undefined, sent: string | undefined): string {
  return (code ? tKnown(`cameraError.${code}`) : undefined) ?? sent ?? '';
}

/** What the gateway puts in place of a card number a viewer may not see (gateway/http/visibility.ts). */
const HIDDEN_UID = '•••';

const all = (vars: Record<string, string | number | undefined>): vars is Record<string, string | number> => Object.values(vars).every((v) => v !== undefined);

/** The alert types the gateway's own modules raise (and the default after-hours flow), with what each text needs. */
const alertTexts: Record<string, (a: Alert, d: Data) => string | undefined> = {
  card_lost_used: (a, d) => {
    const vars = { uid: text(d.uid) ?? HIDDEN_UID, person: person(d), place: place(a, d) };
    return all(vars) ? t('alertText.card_lost_used', vars) : undefined;
  },
  card_blocked_used: (a, d) => {
    const vars = { uid: text(d.uid) ?? HIDDEN_UID, person: person(d), place: place(a, d) };
    return all(vars) ? t('alertText.card_blocked_used', vars) : undefined;
  },
  repeated_denials: (a, d) => {
    const reason = text(d.lastReason);
    const vars = { place: place(a, d), count: count(d.count), windowS: count(d.windowS), reason: reason ? label('reason', reason) : undefined };
    return all(vars) ? t('alertText.repeated_denials', vars) : undefined;
  },
  lockdown: (_a, d) => {
    const by = text(d.by);
    if (!by) return undefined;
    const who = by === 'city' ? t('alertText.city') : by;
    const reason = text(d.note) ?? text(d.reason); // `reason` before 2026-12
    return reason ? t('alertText.lockdownWithReason', { by: who, reason }) : t('alertText.lockdown', { by: who });
  },
  camera_offline: (_a, d) => {
    const code = text(d.code);
    const error = code ? tKnown(`cameraError.${code}`) : t('cameraError.no_answer');
    const vars = { camera: camera(d), error };
    return all(vars) ? t('alertText.camera_offline', vars) : undefined;
  },
  camera_tamper: (_a, d) => {
    const vars = { camera: camera(d) };
    return all(vars) ? t('alertText.camera_tamper', vars) : undefined;
  },
  intrusion: (a, d) => {
    const kind = text(d.kind);
    const vars = { camera: camera(d), zone: zone(a), event: kind ? label('cameraEvent', kind) : undefined };
    return all(vars) ? t('alertText.intrusion', vars) : undefined;
  },
  sensor_offline: (a, d) => {
    const who = sensor(d);
    const where = zone(a);
    if (!who || !where) return undefined;
    const seen = text(d.lastSeenAt);
    return seen ? t('alertText.sensor_offline_seen', { sensor: who, zone: where, at: fmtDateTime(seen) }) : t('alertText.sensor_offline', { sensor: who, zone: where });
  },
  wallet_ledger_mismatch: (_a, d) => {
    const vars = { mismatches: count(d.mismatches), terminalMismatches: count(d.terminalMismatches) };
    return all(vars) ? t('alertText.wallet_ledger_mismatch', vars) : undefined;
  },
  wallet_seq_conflict: (_a, d) => {
    const vars = { reader: reader(d), seq: count(d.seq) };
    return all(vars) ? t('alertText.wallet_seq_conflict', vars) : undefined;
  },
  wallet_offline_review: (_a, d) => {
    const vars = { reader: reader(d), held: count(d.held), pending: count(d.pending) };
    return all(vars) ? t('alertText.wallet_offline_review', vars) : undefined;
  },
  wallet_pin_locked: (_a, d) => {
    const vars = { person: person(d), reader: reader(d) };
    return all(vars) ? t('alertText.wallet_pin_locked', vars) : undefined;
  },
  after_hours_motion: (_a, d) => {
    const vars = { camera: camera(d), time: text(d.localTime) };
    return all(vars) ? t('alertText.after_hours_motion', vars) : undefined;
  },
  door_forced: (a, d) => {
    const vars = { place: place(a, d) };
    return all(vars) ? t('alertText.door_forced', vars) : undefined;
  },
  door_opened_remotely: (a, d) => {
    const vars = { place: place(a, d) };
    return all(vars) ? t('alertText.door_opened_remotely', vars) : undefined;
  },
  door_mode_changed: (a, d) => {
    const mode = text(d.mode);
    const setTo = text(d.setTo);
    const vars = { place: place(a, d), mode: mode ? tKnown(`doorMode.${mode}`) : undefined, setTo: setTo ? tKnown(`doorMode.${setTo}`) : undefined };
    return all(vars) ? t('alertText.door_mode_changed', vars) : undefined;
  },
  door_granted_in_lockdown: (a, d) => {
    const vars = { place: place(a, d) };
    return all(vars) ? t('alertText.door_granted_in_lockdown', vars) : undefined;
  },
  controller_card_not_issued: (a, d) => {
    const vars = { place: place(a, d) };
    return all(vars) ? t('alertText.controller_card_not_issued', vars) : undefined;
  },
  door_held_open: (a, d) => {
    const vars = { place: place(a, d) };
    return all(vars) ? t('alertText.door_held_open', vars) : undefined;
  },
  controller_offline: (_a, d) => {
    const vars = { controller: text(d.controller) };
    return all(vars) ? t('alertText.controller_offline', vars) : undefined;
  },
};

/**
 * A sensor rule's alert (`co2_high`, `smoke_detected`, or a type the school configured): its data names the sensor,
 * the metric, the value and the limit it crossed, whatever the type is called.
 */
function sensorRuleText(a: Alert, d: Data): string | undefined {
  const metric = text(d.metric);
  const who = sensor(d);
  const where = zone(a);
  const value = reading(d, d.value);
  if (!metric || !who || !where || value === undefined) return undefined;
  const vars = { sensor: who, zone: where, metric: label('metric', metric), value };
  const above = reading(d, d.above);
  if (above) return t('alertText.sensorAbove', { ...vars, limit: above });
  const below = reading(d, d.below);
  if (below) return t('alertText.sensorBelow', { ...vars, limit: below });
  return t('alertText.sensorValue', vars);
}

/** The alert's message in the console's language, or as the gateway wrote it. */
export function alertMessage(a: Alert): string {
  const d: Data = a.data ?? {};
  const byType = alertTexts[a.type];
  const own = byType ? byType(a, d) : d.metric !== undefined && d.sensorId !== undefined ? sensorRuleText(a, d) : undefined;
  return own ?? a.message;
}

/**
 * Notes the gateway writes itself when a person's action resolves an alert (ending the lockdown, reviewing the last
 * offline sale), by alert type. Notes the gateway writes when it resolves an alert on its own (by `gateway`) are
 * not shown as text at all (see the alerts page).
 */
const gatewayNotes: Record<string, { note: string; text: () => string }> = {
  lockdown: { note: 'lockdown ended', text: () => t('gates.lockdownEnded') },
  wallet_offline_review: { note: 'every offline sale reviewed', text: () => t('alertText.offlineReviewed') },
  wallet_pin_locked: { note: 'PIN set again', text: () => t('alertText.pinSetAgain') },
};

/** A resolve note in the console's language when the gateway wrote it; a person's note as written. */
export function resolveNote(a: Alert): string | null {
  const own = gatewayNotes[a.type];
  return own && a.resolveNote === own.note ? own.text() : a.resolveNote;
}

/**
 * Reasons the gateway writes itself on wallet entries (gateway/wallet/ledger.ts): a sale at a terminal, an offline
 * sale, an offline sale an admin reviewed (with the admin's note). Reasons an admin typed (top-ups, refunds) as typed.
 */
const REVIEWED_SALE = 'canteen (offline, reviewed): ';
export function walletReason(reason: string | null | undefined): string {
  if (reason === 'canteen') return t('walletReason.canteen');
  if (reason === 'canteen (offline)') return t('walletReason.canteenOffline');
  if (reason?.startsWith(REVIEWED_SALE)) return t('walletReason.canteenReviewed', { note: reason.slice(REVIEWED_SALE.length) });
  return reason ?? '';
}

/** A component's health detail in the console's language from its code and values; as the gateway wrote it otherwise. */
export function healthDetail(c: ComponentReport): string {
  const params = { ...(c.params ?? {}) };
  if (typeof params.at === 'string') params.at = fmtDateTime(params.at);
  return (c.code ? tKnownWith(`health.${c.code}`, params) : undefined) ?? c.detail ?? '';
}

/** An error from the API in the console's language, by its code; the gateway's text for a code it does not know. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) return tKnown(`apiError.${err.code}`) ?? err.message;
  return err instanceof Error ? err.message : String(err);
}
