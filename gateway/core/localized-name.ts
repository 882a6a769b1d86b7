/**
 * One string from a name that may be given per language (config/common.ts `localizedName`), for texts the gateway
 * writes itself. Each language falls back in the same order as the console (asked-for → en → zh → ko → id), so a
 * guardian's Korean message and the console's Korean screen name a place alike.
 */
import type { LocalizedName } from '../../config/common.js';

export type NameLanguage = 'zh' | 'ko' | 'en';

const ORDER: readonly NameLanguage[] = ['en', 'zh', 'ko'];

export function nameIn(name: LocalizedName | undefined | null, lang: NameLanguage, id: string): string {
  if (name === undefined || name === null) return id;
  if (typeof name === 'string') return name;
  for (const l of [lang, ...ORDER]) {
    const v = name[l];
    if (v) return v;
  }
  return id;
}

/**
 * The one name the city command center, Node-RED and the gateway's English log and alert texts get: Chinese first,
 * because the city's systems and the school's flows are read in Chinese and a name must not change from one
 * message to the next (docs/config.md, Names).
 */
export function stableName(name: LocalizedName | undefined | null, id: string): string {
  return nameIn(name, 'zh', id);
}
