/**
 * Tolerant readers for API answers whose exact shape differs between gateway modules (a bare array or
 * `{items}`; `online` or `state`): the console shows what is there instead of breaking on a field.
 */
export type Json = Record<string, unknown>;

export function asList(v: unknown, ...keys: string[]): Json[] {
  if (Array.isArray(v)) return v.filter(isObj);
  if (isObj(v)) {
    for (const k of [...keys, 'items']) {
      const inner = v[k];
      if (Array.isArray(inner)) return inner.filter(isObj);
    }
  }
  return [];
}

export function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function str(o: Json | undefined, ...keys: string[]): string | undefined {
  for (const k of keys) {
    const v = o?.[k];
    if (typeof v === 'string' && v) return v;
    if (typeof v === 'number') return String(v);
  }
  return undefined;
}

export function num(o: Json | undefined, ...keys: string[]): number | undefined {
  for (const k of keys) {
    const v = o?.[k];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  return undefined;
}

export function bool(o: Json | undefined, ...keys: string[]): boolean | undefined {
  for (const k of keys) {
    const v = o?.[k];
    if (typeof v === 'boolean') return v;
  }
  return undefined;
}

export function obj(o: Json | undefined, ...keys: string[]): Json | undefined {
  for (const k of keys) {
    const v = o?.[k];
    if (isObj(v)) return v;
  }
  return undefined;
}
