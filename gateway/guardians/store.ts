import type { Clock } from '../core/clock.js';
import { GatewayError, notFound } from '../core/errors.js';
import { SealedBox } from '../core/sealed-box.js';
import type { Database } from '../storage/db.js';
import { maskPhone, normalizePhone } from './phone.js';
import { MAX_GUARDIANS, type Guardian, type GuardianInput, type GuardianLanguage, type GuardianPatch, type GuardianRow } from './schema.js';

/** Salt for a passphrase-type key: a key stretched for guardians is not the one cameras use. */
const SALT = 'campus-edge-gateway/guardians/v1';

/** The key that seals guardians' numbers: notify.secretKey, else the cameras' key (the same key handling). */
export function guardianKeyOf(config: { notify: { secretKey?: string | undefined }; cameras: { secretKey?: string | undefined } }): string | undefined {
  return config.notify.secretKey ?? config.cameras.secretKey;
}

export function guardianBox(secretKey: string | undefined): SealedBox | null {
  return secretKey ? new SealedBox(secretKey, SALT) : null;
}

const context = (personId: number): string => `guardian:${personId}`;

function fromRow(r: GuardianRow, phone: string): Guardian {
  return {
    id: r.id, personId: r.person_id, position: r.position, name: r.name, relation: r.relation, phone, wecomUser: r.wecom_user,
    language: r.language, consent: r.consent === 1, consentAt: r.consent_at, consentBy: r.consent_by,
  };
}

/** One guardian as the roster import hands it over (already validated, number normalised). */
export interface GuardianRecord {
  position: number;
  name: string;
  relation: string | null;
  phone: string;
  language: GuardianLanguage;
  consent: boolean;
}

function requireBox(box: SealedBox | null): SealedBox {
  if (!box) {
    throw new GatewayError('conflict', "guardians' numbers are stored encrypted: set notify.secretKey (CAMPUS_NOTIFY_KEY) or cameras.secretKey first");
  }
  return box;
}

/**
 * Writes the guardians a roster row names, in the import's transaction: a position the row fills is created or
 * updated; positions it leaves empty are kept (a sheet without a second guardian does not erase one added by hand).
 * A change of consent is logged with who imported.
 */
export function writeRosterGuardians(db: Database, box: SealedBox | null, personId: number, list: readonly GuardianRecord[], by: string, nowIso: string): number {
  if (list.length === 0) return 0;
  const b = requireBox(box);
  let changed = 0;
  for (const g of list) {
    const row = db.prepare<[number, number], GuardianRow>('SELECT * FROM guardians WHERE person_id = ? AND position = ?').get(personId, g.position);
    const phoneEnc = b.seal(context(personId), g.phone);
    if (!row) {
      const id = Number(
        db
          .prepare(
            `INSERT INTO guardians (person_id, position, name, relation, phone_enc, phone_masked, language, consent, consent_at, consent_by, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(personId, g.position, g.name, g.relation, phoneEnc, maskPhone(g.phone), g.language, g.consent ? 1 : 0, g.consent ? nowIso : null, g.consent ? by : null, nowIso, nowIso)
          .lastInsertRowid,
      );
      if (g.consent) db.prepare('INSERT INTO guardian_consent_log (guardian_id, consent, at, by) VALUES (?, 1, ?, ?)').run(id, nowIso, by);
      changed++;
      continue;
    }
    const samePhone = b.open(context(personId), row.phone_enc) === g.phone;
    const consentChanged = (row.consent === 1) !== g.consent;
    if (samePhone && row.name === g.name && row.relation === g.relation && row.language === g.language && !consentChanged) continue;
    db.prepare(
      `UPDATE guardians SET name = ?, relation = ?, phone_enc = ?, phone_masked = ?, language = ?, consent = ?,
         consent_at = CASE WHEN ? THEN ? ELSE consent_at END, consent_by = CASE WHEN ? THEN ? ELSE consent_by END, updated_at = ? WHERE id = ?`,
    ).run(g.name, g.relation, samePhone ? row.phone_enc : phoneEnc, maskPhone(g.phone), g.language, g.consent ? 1 : 0, consentChanged ? 1 : 0, nowIso, consentChanged ? 1 : 0, by, nowIso, row.id);
    if (consentChanged) db.prepare('INSERT INTO guardian_consent_log (guardian_id, consent, at, by) VALUES (?, ?, ?, ?)').run(row.id, g.consent ? 1 : 0, nowIso, by);
    changed++;
  }
  return changed;
}

export interface ConsentChange {
  guardianId: number;
  consent: boolean;
  at: string;
  by: string;
}

/** Guardians of students: the admin API, the console and the notifier read them through this. */
export class GuardianStore {
  constructor(
    private readonly db: Database,
    private readonly box: SealedBox | null,
    private readonly clock: Clock,
  ) {}

  get encrypted(): boolean {
    return this.box !== null;
  }

  /** `reveal`: the whole number (the admin's edit form); otherwise masked. */
  list(personId: number, opts: { reveal?: boolean } = {}): Guardian[] {
    const rows = this.db.prepare<[number], GuardianRow>('SELECT * FROM guardians WHERE person_id = ? ORDER BY position').all(personId);
    return rows.map((r) => fromRow(r, opts.reveal ? this.phoneOf(r) : r.phone_masked));
  }

  row(id: number): GuardianRow {
    const r = this.db.prepare<[number], GuardianRow>('SELECT * FROM guardians WHERE id = ?').get(id);
    if (!r) throw notFound(`guardian ${id}`);
    return r;
  }

  /** The plain number, for the channel that sends to it and the admin's edit form only. */
  phoneOf(r: Pick<GuardianRow, 'person_id' | 'phone_enc'>): string {
    const plain = requireBox(this.box).open(context(r.person_id), r.phone_enc);
    if (plain === null) throw new GatewayError('bad_credentials', 'cannot decrypt a guardian number: was notify.secretKey changed?');
    return plain;
  }

  add(personId: number, input: GuardianInput, by: string): Guardian {
    const phone = this.phone(input.phone);
    const b = requireBox(this.box);
    return this.db.transaction(() => {
      const used = new Set(this.db.prepare<[number], { position: number }>('SELECT position FROM guardians WHERE person_id = ?').all(personId).map((r) => r.position));
      if (used.size >= MAX_GUARDIANS) throw new GatewayError('conflict', `a student has at most ${MAX_GUARDIANS} guardians`);
      const position = [1, 2, 3, 4].find((p) => !used.has(p))!;
      const now = new Date(this.clock.now()).toISOString();
      const id = Number(
        this.db
          .prepare(
            `INSERT INTO guardians (person_id, position, name, relation, phone_enc, phone_masked, wecom_user, language, consent, consent_at, consent_by, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(personId, position, input.name, input.relation ?? null, b.seal(context(personId), phone), maskPhone(phone), input.wecomUser ?? null, input.language,
            input.consent ? 1 : 0, input.consent ? now : null, input.consent ? by : null, now, now)
          .lastInsertRowid,
      );
      if (input.consent) this.logConsent(id, true, now, by);
      return fromRow(this.row(id), maskPhone(phone));
    })();
  }

  update(personId: number, id: number, patch: GuardianPatch, by: string): Guardian {
    const r = this.row(id);
    if (r.person_id !== personId) throw notFound(`guardian ${id}`);
    const now = new Date(this.clock.now()).toISOString();
    return this.db.transaction(() => {
      if (patch.phone !== undefined) {
        const phone = this.phone(patch.phone);
        this.db.prepare('UPDATE guardians SET phone_enc = ?, phone_masked = ? WHERE id = ?').run(requireBox(this.box).seal(context(personId), phone), maskPhone(phone), id);
      }
      this.db
        .prepare('UPDATE guardians SET name = ?, relation = ?, language = ?, wecom_user = ?, updated_at = ? WHERE id = ?')
        .run(patch.name ?? r.name, patch.relation !== undefined ? patch.relation : r.relation, patch.language ?? r.language,
          patch.wecomUser !== undefined ? patch.wecomUser : r.wecom_user, now, id);
      if (patch.consent !== undefined && patch.consent !== (r.consent === 1)) this.setConsentIn(id, patch.consent, now, by);
      const after = this.row(id);
      return fromRow(after, after.phone_masked);
    })();
  }

  setConsent(personId: number, id: number, consent: boolean, by: string): Guardian {
    return this.update(personId, id, { consent }, by);
  }

  remove(personId: number, id: number): void {
    const info = this.db.prepare('DELETE FROM guardians WHERE id = ? AND person_id = ?').run(id, personId);
    if (info.changes === 0) throw notFound(`guardian ${id}`);
  }

  consentHistory(personId: number): ConsentChange[] {
    return this.db
      .prepare<[number], { guardian_id: number; consent: number; at: string; by: string }>(
        `SELECT l.guardian_id, l.consent, l.at, l.by FROM guardian_consent_log l JOIN guardians g ON g.id = l.guardian_id
         WHERE g.person_id = ? ORDER BY l.id`,
      )
      .all(personId)
      .map((r) => ({ guardianId: r.guardian_id, consent: r.consent === 1, at: r.at, by: r.by }));
  }

  private setConsentIn(id: number, consent: boolean, now: string, by: string): void {
    this.db.prepare('UPDATE guardians SET consent = ?, consent_at = ?, consent_by = ? WHERE id = ?').run(consent ? 1 : 0, now, by, id);
    this.logConsent(id, consent, now, by);
  }

  private logConsent(id: number, consent: boolean, at: string, by: string): void {
    this.db.prepare('INSERT INTO guardian_consent_log (guardian_id, consent, at, by) VALUES (?, ?, ?, ?)').run(id, consent ? 1 : 0, at, by);
  }

  private phone(input: string): string {
    const r = normalizePhone(input);
    if (!r.ok) throw new GatewayError('bad_request', `body.phone: ${r.reason}`);
    return r.phone;
  }
}
