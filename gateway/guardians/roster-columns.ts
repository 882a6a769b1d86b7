/**
 * The roster's guardian columns (监护人/guardian_name, 监护人电话/guardian_phone, 关系/relation, 通知/notify,
 * 语言/language; the same with `2` for a second guardian), kept apart from gateway/roster/import.ts so the importer
 * only hands cells over: validation and the sealed write live here.
 */
import type { SealedBox } from '../core/sealed-box.js';
import type { Database } from '../storage/db.js';
import { normalizePhone } from './phone.js';
import { GUARDIAN_LANGUAGES, type GuardianLanguage } from './schema.js';
import { guardianBox, writeRosterGuardians, type GuardianRecord } from './store.js';

type Field = 'name' | 'phone' | 'relation' | 'notify' | 'language';

const BASE: Record<string, Field> = {
  监护人: 'name', 监护人姓名: 'name', 家长: 'name', 家长姓名: 'name', guardian_name: 'name', guardianname: 'name', guardian: 'name',
  监护人电话: 'phone', 监护人手机: 'phone', 家长电话: 'phone', 家长手机: 'phone', guardian_phone: 'phone', guardianphone: 'phone',
  关系: 'relation', relation: 'relation',
  通知: 'notify', notify: 'notify',
  语言: 'language', language: 'language',
};
const SHOWN: Record<Field, string> = { name: '监护人/guardian_name', phone: '监护人电话/guardian_phone', relation: '关系/relation', notify: '通知/notify', language: '语言/language' };
const LANGUAGES: Record<string, GuardianLanguage> = { zh: 'zh', 中文: 'zh', 汉语: 'zh', ko: 'ko', 朝鲜语: 'ko', 韩语: 'ko', 한국어: 'ko', en: 'en', 英语: 'en', english: 'en' };
const YES = new Set(['1', 'y', 'yes', 'true', '是', '√', '同意']);
const NO = new Set(['', '0', 'n', 'no', 'false', '否', '不同意']);

/** `guardian_phone2` → phone of guardian 2; a header (already lower-cased, spaces as `_`) that is none of them → undefined. */
export function guardianColumn(key: string): { position: 1 | 2; field: Field } | undefined {
  const m = /^(.*?)_?([12])?$/.exec(key);
  if (!m) return undefined;
  const field = BASE[m[1]!] ?? BASE[m[1]!.replace(/_/g, '')];
  return field ? { position: m[2] === '2' ? 2 : 1, field } : undefined;
}

const shown = (position: number, f: Field): string => (position === 1 ? SHOWN[f] : SHOWN[f].replace('/', '2/') + '2');

export class RosterGuardianColumns {
  private readonly columns = new Map<string, number>();
  private box: SealedBox | null | undefined;

  constructor(private readonly secretKey: string | undefined) {}

  /** Takes a header cell; 'repeated' when the same guardian field has two columns, undefined when not a guardian column. */
  claim(key: string, index: number): 'claimed' | 'repeated' | undefined {
    const c = guardianColumn(key);
    if (!c) return undefined;
    const k = `${c.field}${c.position}`;
    if (this.columns.has(k)) return 'repeated';
    this.columns.set(k, index);
    return 'claimed';
  }

  /** File-level problems: guardian columns with no key to seal the numbers, or names without numbers. */
  problems(): string[] {
    if (this.columns.size === 0) return [];
    const out: string[] = [];
    if (!this.secretKey) out.push("guardian columns need notify.secretKey (CAMPUS_NOTIFY_KEY) or cameras.secretKey: guardians' numbers are stored encrypted");
    for (const p of [1, 2]) {
      if (this.columns.has(`name${p}`) !== this.columns.has(`phone${p}`) && [...this.columns.keys()].some((k) => k.endsWith(String(p)))) {
        out.push(`${shown(p, 'name')} and ${shown(p, 'phone')} go together: give both columns or neither`);
      }
    }
    return out;
  }

  /** The guardians a row names, or the reason the row is rejected. */
  read(record: readonly string[]): { ok: true; guardians: GuardianRecord[] } | { ok: false; reason: string } {
    const guardians: GuardianRecord[] = [];
    for (const position of [1, 2] as const) {
      const cell = (f: Field): string => {
        const i = this.columns.get(`${f}${position}`);
        return i === undefined ? '' : (record[i] ?? '').trim();
      };
      const name = cell('name');
      const phoneText = cell('phone');
      if (!name && !phoneText) {
        if (cell('notify') && YES.has(cell('notify').toLowerCase())) return { ok: false, reason: `${shown(position, 'notify')} is set but no guardian is named` };
        continue;
      }
      if (!name) return { ok: false, reason: `${shown(position, 'name')} is empty but ${shown(position, 'phone')} is given` };
      if (name.length > 64) return { ok: false, reason: `${shown(position, 'name')} is longer than 64 characters` };
      const phone = normalizePhone(phoneText);
      if (!phone.ok) return { ok: false, reason: phoneText ? `${shown(position, 'phone')} "${phoneText}": ${phone.reason}` : `${shown(position, 'phone')} is empty` };
      const notify = cell('notify').toLowerCase();
      if (!YES.has(notify) && !NO.has(notify)) return { ok: false, reason: `${shown(position, 'notify')} "${cell('notify')}": expected 是/否 or yes/no` };
      const langText = cell('language').toLowerCase();
      const language = langText === '' ? 'zh' : LANGUAGES[langText] ?? (GUARDIAN_LANGUAGES as readonly string[]).find((l) => l === langText);
      if (!language) return { ok: false, reason: `${shown(position, 'language')} "${cell('language')}": expected zh/中文, ko/朝鲜语 or en/英语` };
      const relation = cell('relation');
      if (relation.length > 32) return { ok: false, reason: `${shown(position, 'relation')} is longer than 32 characters` };
      guardians.push({ position, name, relation: relation || null, phone: phone.phone, language: language as GuardianLanguage, consent: YES.has(notify) });
    }
    return { ok: true, guardians };
  }

  /** In the import's transaction, after the person row. */
  write(db: Database, personId: number, guardians: readonly GuardianRecord[], by: string, nowIso: string): number {
    if (guardians.length === 0) return 0;
    this.box ??= guardianBox(this.secretKey);
    return writeRosterGuardians(db, this.box, personId, guardians, by, nowIso);
  }
}
