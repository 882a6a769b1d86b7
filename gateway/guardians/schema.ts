import { z } from 'zod';
import type { Migration } from '../storage/db.js';

export const GUARDIAN_LANGUAGES = ['zh', 'ko', 'en'] as const;
export type GuardianLanguage = (typeof GUARDIAN_LANGUAGES)[number];
export const MAX_GUARDIANS = 4;

/**
 * Guardians and notifications (migrations 80–89). A guardian's mobile number is kept only sealed
 * (gateway/core/sealed-box.ts, bound to `guardian:<personId>`) plus its masked form for lists. Erasing a student
 * keeps the person row under a pseudonym, so the cascades below do not fire then: gateway/privacy/erasure.ts deletes
 * their guardians, consent history and messages itself.
 */
export const guardianMigrations: Migration[] = [
  {
    version: 80,
    name: 'guardians and their consent history',
    up: `
      CREATE TABLE guardians (
        id INTEGER PRIMARY KEY,
        person_id INTEGER NOT NULL REFERENCES persons(id) ON DELETE CASCADE,
        position INTEGER NOT NULL CHECK (position BETWEEN 1 AND 4),
        name TEXT NOT NULL,
        relation TEXT,
        phone_enc TEXT NOT NULL,
        phone_masked TEXT NOT NULL,
        wecom_user TEXT,
        language TEXT NOT NULL CHECK (language IN ('zh','ko','en')),
        consent INTEGER NOT NULL DEFAULT 0,
        consent_at TEXT,
        consent_by TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (person_id, position)
      );
      CREATE TABLE guardian_consent_log (
        id INTEGER PRIMARY KEY,
        guardian_id INTEGER NOT NULL REFERENCES guardians(id) ON DELETE CASCADE,
        consent INTEGER NOT NULL,
        at TEXT NOT NULL,
        by TEXT NOT NULL
      );
      CREATE INDEX guardian_consent_log_guardian ON guardian_consent_log (guardian_id);`,
  },
  {
    version: 81,
    name: 'notification outbox',
    // One row per message to one recipient. dedup_key is unique: one arrival per student per guardian per day, however
    // many taps. Written in the tap's own transaction, so a crash keeps the tap and its message or neither.
    up: `
      CREATE TABLE notify_outbox (
        id INTEGER PRIMARY KEY,
        event TEXT NOT NULL,
        person_id INTEGER REFERENCES persons(id) ON DELETE CASCADE,
        guardian_id INTEGER REFERENCES guardians(id) ON DELETE CASCADE,
        channel TEXT NOT NULL,
        dedup_key TEXT NOT NULL UNIQUE,
        data TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('queued','sent','failed','expired','suppressed')),
        reason TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_at INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        sent_at INTEGER
      );
      CREATE INDEX notify_outbox_due ON notify_outbox (status, next_at) WHERE status = 'queued';
      CREATE INDEX notify_outbox_person ON notify_outbox (person_id, id);`,
  },
  {
    version: 82,
    name: 'notification outbox by age',
    // For retention (gateway/privacy/retention.ts): without it each chunk's oldest-first read scans the whole outbox.
    up: `CREATE INDEX notify_outbox_created ON notify_outbox (created_at);`,
  },
  {
    version: 83,
    name: 'queued notifications by guardian',
    // For the sender's order (Outbox.due): a guardian's message waits while an older one to that guardian is queued.
    // Only queued rows, so the probe reads a handful of entries, not the guardian's whole history as
    // notify_outbox_person (person_id, id) would (Outbox.due says what each costs).
    up: `CREATE INDEX notify_outbox_queued_guardian ON notify_outbox (guardian_id, channel, id) WHERE status = 'queued';`,
  },
  {
    version: 84,
    name: 'queued emergencies by channel',
    // For the sender at its bound of messages sent but not recorded, when only emergencies go (Outbox.due,
    // `emergenciesOnly`): the queued emergencies alone, in due order, rather than every due row of notify_outbox_due
    // read to find them (6.4–12 ms a pass with 30,000 due against 0.16 ms, on the event loop that answers every
    // gate). Only queued emergencies are in it, so it costs nothing to any other row's writes.
    up: `CREATE INDEX notify_outbox_queued_emergency ON notify_outbox (channel, next_at) WHERE status = 'queued' AND event = 'emergency';`,
  },
];

const phoneField = z.string().min(1).max(40);
/**
 * A WeCom member's user id as WeCom's user/create defines it: 1–64 letters, digits and `_-@.`, the first a letter or a
 * digit. The first-character rule is what keeps `@all` out: message/send reads `touser: "@all"` as every member of the
 * application, so one guardian row with it sent a child's arrivals and departures to every parent and teacher.
 */
export const WECOM_USER_ID = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;
const wecomUserField = z.string().regex(WECOM_USER_ID, 'a WeCom user id: letters, digits and _-@., starting with a letter or digit');
export const guardianInput = z.strictObject({
  name: z.string().trim().min(1).max(64),
  relation: z.string().trim().max(32).optional(),
  phone: phoneField,
  language: z.enum(GUARDIAN_LANGUAGES).default('zh'),
  wecomUser: wecomUserField.optional(),
  consent: z.boolean().default(false),
});
export type GuardianInput = z.infer<typeof guardianInput>;
/** No defaults here: a field left out of a change stays as it is (a default would silently withdraw consent). */
export const guardianPatch = z.strictObject({
  name: z.string().trim().min(1).max(64).optional(),
  relation: z.string().trim().max(32).optional(),
  phone: phoneField.optional(),
  language: z.enum(GUARDIAN_LANGUAGES).optional(),
  wecomUser: wecomUserField.optional(),
  consent: z.boolean().optional(),
});
export type GuardianPatch = z.infer<typeof guardianPatch>;

export interface Guardian {
  id: number;
  personId: number;
  position: number;
  name: string;
  relation: string | null;
  /** Masked (`138****5678`) except in the admin's edit view. */
  phone: string;
  wecomUser: string | null;
  language: GuardianLanguage;
  consent: boolean;
  consentAt: string | null;
  consentBy: string | null;
}

export interface GuardianRow {
  id: number;
  person_id: number;
  position: number;
  name: string;
  relation: string | null;
  phone_enc: string;
  phone_masked: string;
  wecom_user: string | null;
  language: GuardianLanguage;
  consent: number;
  consent_at: string | null;
  consent_by: string | null;
}
