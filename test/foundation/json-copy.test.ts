/** The copy flows get of each bus event: what a JSON round trip gives, a PIN left out, the gateway's object untouched. */
import { describe, expect, it } from 'vitest';
import { jsonCopy } from '../../gateway/core/json-copy.js';
import { TypedPin } from '../../gateway/core/taps.js';

const roundTrip = (v: unknown): unknown => JSON.parse(JSON.stringify(v)) as unknown;

describe('jsonCopy', () => {
  it('gives what JSON.parse(JSON.stringify(x)) gives, for the shapes bus events have and the odd ones', () => {
    const cases: unknown[] = [
      { readerId: 'gate-1', uid: '0A1B2C3D', at: 1_780_000_000_000, seq: 7, amount: 1250, partial: undefined, granted: true, reason: null },
      { sensorId: 's-1', metric: 'co2', value: Number.NaN, unit: 'ppm', list: [1, undefined, () => 1, Infinity, 'x'], when: new Date(0) },
      { nested: { deeper: { deepest: [{ a: 1 }, [2, [3]]] } }, fn: () => 1, sym: Symbol('s'), big: undefined },
      ['a', null, { b: false }],
      'text',
      42,
      null,
    ];
    for (const c of cases) expect(jsonCopy(c)).toEqual(roundTrip(c));
  });

  it('leaves a typed PIN out, copies rather than shares, and keeps a "__proto__" field a field', () => {
    const tap = { readerId: 'pos-1', uid: '0A1B2C3D', pin: new TypedPin('1234'), meta: { n: 1 } };
    const copy = jsonCopy(tap) as Record<string, unknown>;
    expect(copy).toEqual({ readerId: 'pos-1', uid: '0A1B2C3D', meta: { n: 1 } });
    expect('pin' in copy).toBe(false);
    (copy.meta as { n: number }).n = 2;
    expect(tap.meta.n).toBe(1);
    const hostile = JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}') as object;
    const c = jsonCopy(hostile) as Record<string, unknown>;
    expect(Object.getPrototypeOf(c)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(c).sort()).toEqual(['__proto__', 'ok']);
  });

  it('refuses a cycle instead of running out of stack', () => {
    const a: Record<string, unknown> = {};
    a.self = a;
    expect(() => jsonCopy(a)).toThrow(RangeError);
  });
});
