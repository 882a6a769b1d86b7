/**
 * Every word the console shows comes from one of three dictionaries with identical keys (zh, ko, en);
 * the compiler checks ko and en against zh, and test/console/i18n.test.ts checks that no module outside
 * the dictionaries carries words of its own.
 */
import { en } from './en.js';
import { ko } from './ko.js';
import { zh, type MessageKey } from './zh.js';
import { withParticle } from './josa.js';

export type { MessageKey };
export type Lang = 'zh' | 'ko' | 'en';
export const LANGS: readonly Lang[] = ['zh', 'ko', 'en'];
const dictionaries: Record<Lang, Record<MessageKey, string>> = { zh, ko, en };
const locales: Record<Lang, string> = { zh: 'zh-CN', ko: 'ko-KR', en: 'en-GB' };
const STORAGE_KEY = 'campus.lang';

function isLang(v: unknown): v is Lang {
  return v === 'zh' || v === 'ko' || v === 'en';
}

let current: Lang = isLang(localStorage.getItem(STORAGE_KEY)) ? (localStorage.getItem(STORAGE_KEY) as Lang) : 'zh';
const listeners = new Set<() => void>();

export function lang(): Lang {
  return current;
}

export function locale(): string {
  return locales[current];
}

export function setLang(l: Lang): void {
  current = l;
  localStorage.setItem(STORAGE_KEY, l);
  document.documentElement.lang = locales[l];
  for (const fn of listeners) fn();
}

export function onLangChange(fn: () => void): void {
  listeners.add(fn);
}

/**
 * `t('alerts.count', { n: 3 })` fills `{n}` in the current language's text; `{uid:이/가}` fills in the value
 * followed by the Korean particle that fits it (./josa.ts).
 */
export function t(key: MessageKey, vars: Record<string, string | number> = {}): string {
  return fillIn(dictionaries[current][key], vars);
}

/** For keys built from data (a health code): the translation with its values filled in, if there is one. */
export function tKnownWith(key: string, vars: Record<string, string | number>): string | undefined {
  const text = tKnown(key);
  return text === undefined ? undefined : fillIn(text, vars);
}

function fillIn(text: string, vars: Record<string, string | number>): string {
  return text.replace(/\{(\w+)(?::([^{}]+))?\}/g, (m, name: string, particle: string | undefined) => {
    if (!(name in vars)) return m;
    const value = String(vars[name]);
    return particle === undefined ? value : withParticle(value, particle);
  });
}

/** For keys built from data (an alert type, a reason code): the translation if there is one. */
export function tKnown(key: string): string | undefined {
  const dict = dictionaries[current] as Record<string, string>;
  return Object.prototype.hasOwnProperty.call(dict, key) ? dict[key] : undefined;
}

/** Money is integer fen on the wire; shown as yuan. */
export function fmtMoney(fen: number): string {
  return new Intl.NumberFormat(locales[current], { style: 'currency', currency: 'CNY' }).format(fen / 100);
}

export function fmtNumber(n: number, digits = 1): string {
  return new Intl.NumberFormat(locales[current], { maximumFractionDigits: digits }).format(n);
}

document.documentElement.lang = locales[current];
