/**
 * RFC 8785 JSON Canonicalization Scheme (JCS): the exact bytes a city command's signature covers.
 *
 * Written here rather than taken from npm: the reference package (`canonicalize`) now declares Node >= 22 while
 * the gateway runs on Node 20, and JCS over values that came out of JSON.parse is short. ECMAScript's
 * JSON.stringify already serialises numbers (RFC 8785 §3.2.2.3) and strings (§3.2.2.2) the way JCS requires;
 * what JCS adds is sorting object keys by UTF-16 code units (Array.prototype.sort's default order, §3.2.3), no
 * whitespace, and refusing what I-JSON forbids (lone surrogates, NaN, Infinity). Checked against the RFC's own
 * examples in test/cloud-sync/canonical-json.test.ts.
 */

export class CanonicalJsonError extends Error {
  readonly code = 'not_canonical_json';
}

/** Commands are a few levels deep; a hostile payload nested 10,000 deep must not exhaust the stack. */
const MAX_DEPTH = 32;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function str(s: string): string {
  if (LONE_SURROGATE.test(s)) throw new CanonicalJsonError('a string holds a lone surrogate (not I-JSON)');
  return JSON.stringify(s);
}

function write(value: unknown, depth: number): string {
  if (depth > MAX_DEPTH) throw new CanonicalJsonError(`nested deeper than ${MAX_DEPTH} levels`);
  if (value === null || typeof value === 'boolean') return value === null ? 'null' : String(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new CanonicalJsonError(`${value} has no JSON form`);
    return JSON.stringify(value);
  }
  if (typeof value === 'string') return str(value);
  if (Array.isArray(value)) return `[${value.map((v) => write(v, depth + 1)).join(',')}]`;
  if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const members: string[] = [];
    for (const key of Object.keys(obj).sort()) {
      const v = obj[key];
      // As JSON.stringify: an absent optional field is no member at all.
      if (v === undefined) continue;
      members.push(`${str(key)}:${write(v, depth + 1)}`);
    }
    return `{${members.join(',')}}`;
  }
  throw new CanonicalJsonError(`a ${typeof value} has no JSON form`);
}

/** The JCS form of a JSON value; throws CanonicalJsonError for what I-JSON does not allow. */
export function canonicalJson(value: unknown): string {
  return write(value, 0);
}
