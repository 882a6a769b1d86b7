/**
 * Every word the console shows is in the three dictionaries, with the same keys in each, and no UI module
 * carries words of its own: string literals in the sources are parsed with the TypeScript compiler and any
 * that reads as human text (CJK or Hangul, a capitalised word, a phrase) fails the test.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { en } from '../../console/src/i18n/en.js';
import { ko } from '../../console/src/i18n/ko.js';
import { zh } from '../../console/src/i18n/zh.js';

const SRC = join(import.meta.dirname, '../../console/src');
const DICTIONARIES = new Set(['i18n/zh.ts', 'i18n/ko.ts', 'i18n/en.ts', 'i18n/zh-terms.ts', 'i18n/ko-terms.ts', 'i18n/en-terms.ts']);
const dictionaries = { zh, ko, en } as Record<string, Record<string, string>>;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Text a person would read, as opposed to a key, a class name, a path, an event or a tag name. */
export function looksHuman(s: string): boolean {
  if (/[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]/.test(s)) return true; // Chinese, Japanese, Korean
  const text = s.replace(/\$\{[^}]*\}/g, ' ').trim();
  if (/^[A-Z][a-z]+(?:[\s,.!?:]|$)/.test(text)) return true; // "Cancel", "Not available", "Saved."
  if (/\b[a-z]{2,}\s+[a-z]{2,}\s+[a-z]{2,}\b/.test(text) && !/[-_./:=]/.test(text)) return true; // "no such thing"
  return /\s[a-z]{2,}[.!?]$/.test(text); // "it is done."
}

/**
 * Strings the gateway's API speaks (an auth scheme, an error text, the resolve notes it writes itself, each
 * compared against), never shown to anyone: the console shows its own translation in their place.
 */
const PROTOCOL_TEXT = new Set(['Bearer ', 'no such route', 'lockdown ended', 'every offline sale reviewed', 'PIN set again']);

/** Literal texts in a module, with their line; import paths and `t()` keys are not text. */
function literals(file: string): { text: string; line: number }[] {
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const out: { text: string; line: number }[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) return;
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node)) {
      out.push({ text: node.text, line: sf.getLineAndCharacterOfPosition(node.getStart()).line + 1 });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

describe('console translations', () => {
  it('has the same keys in 简体中文, 한국어 and English, none empty', () => {
    const keys = Object.keys(zh).sort();
    expect(keys.length).toBeGreaterThan(100);
    for (const [name, dict] of Object.entries(dictionaries)) {
      expect(Object.keys(dict).sort(), name).toEqual(keys);
      for (const k of keys) expect(dict[k]?.trim(), `${name} ${k}`).toBeTruthy();
    }
  });

  it('uses the same {placeholders} in every language', () => {
    const vars = (s: string): string[] => [...s.matchAll(/\{(\w+)(?::[^{}]+)?\}/g)].map((m) => m[1]!).sort();
    for (const k of Object.keys(zh)) {
      expect(vars(ko[k as keyof typeof ko]), `ko ${k}`).toEqual(vars(zh[k as keyof typeof zh]));
      expect(vars(en[k as keyof typeof en]), `en ${k}`).toEqual(vars(zh[k as keyof typeof zh]));
    }
  });

  it('really translates: a text is the same in two languages only for names, units and symbols', () => {
    const neutral = (k: string, v: string): boolean => k.startsWith('lang.') || /^[A-Z0-9.×\s]*$/.test(v.replace(/\{\w+\}/g, ''));
    for (const k of Object.keys(zh) as (keyof typeof zh)[]) {
      if (neutral(k, en[k])) continue;
      expect(ko[k], `ko ${k} is the English text`).not.toBe(en[k]);
      expect(zh[k], `zh ${k} is the English text`).not.toBe(en[k]);
      expect(ko[k], `ko ${k} is the Chinese text`).not.toBe(zh[k]);
    }
  });

  it('finds no human text in UI modules outside the dictionaries', () => {
    const files = sources(SRC).filter((f) => !DICTIONARIES.has(relative(SRC, f).replaceAll('\\', '/')));
    expect(files.length).toBeGreaterThan(10);
    const found: string[] = [];
    for (const f of files) for (const l of literals(f)) if (looksHuman(l.text) && !PROTOCOL_TEXT.has(l.text)) found.push(`${relative(SRC, f)}:${l.line} ${JSON.stringify(l.text)}`);
    expect(found).toEqual([]);
  });

  it('would catch the texts it is meant to catch (the check itself can fail)', () => {
    for (const s of ['未连接', '연결 안 됨', 'Cancel', 'Not available', 'session expired, sign in again', 'Saved.']) expect(looksHuman(s), s).toBe(true);
    for (const s of ['alerts.ack', 'btn primary', 'data-test', '/api/v1/alerts', 'click', 'alert.raised', 'zh-CN', 'text/html', 'M0,0 L1,1', '']) expect(looksHuman(s), s).toBe(false);
  });

  it("names every alert type the gateway's own modules raise, in each language", () => {
    // A walkthrough found door_forced, door_held_open and controller_offline shown by their raw type on a Chinese desk.
    const root = join(import.meta.dirname, '../..');
    const raised = new Set<string>();
    for (const dir of ['gateway', 'drivers', 'cloud-sync']) {
      for (const file of sources(join(root, dir))) {
        const text = readFileSync(file, 'utf8');
        // raise({ type: 'x' … }) and tryRaise, which modules raising from a timer or a device poll use (a full disk);
        // and the controllers' door alarms, which name the type first: raise('x', …), this.raise(dev, door, 'x', …).
        for (const m of text.matchAll(/\.(?:raise|tryRaise)\(\{[^;]*?\btype: '([a-z_]+)'/g)) raised.add(m[1]!);
        for (const m of text.matchAll(/\braise\((?:\w+, ){0,2}'([a-z_]+)'/g)) raised.add(m[1]!);
      }
    }
    expect(raised.size).toBeGreaterThan(20);
    for (const [name, dict] of Object.entries(dictionaries)) {
      expect([...raised].filter((type) => !dict[`alertType.${type}`]), name).toEqual([]);
    }
  });
});
