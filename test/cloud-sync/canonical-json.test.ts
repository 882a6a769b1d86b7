/** RFC 8785 (JCS) canonical JSON against the RFC's own examples, and what I-JSON forbids. */
import { describe, expect, it } from 'vitest';
import { canonicalJson, CanonicalJsonError } from '../../cloud-sync/canonical-json.js';

describe('RFC 8785 canonical JSON', () => {
  it('serialises the RFC 8785 §3.2.2 example byte for byte', () => {
    const input = String.raw`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }`;
    expect(canonicalJson(JSON.parse(input))).toBe(String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`);
  });

  it('sorts keys by UTF-16 code units as in RFC 8785 §3.2.3', () => {
    const input = String.raw`{
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis"
    }`;
    // The member order of the RFC's result (JS objects would list the integer-like key "1" first; JCS does not).
    expect(canonicalJson(JSON.parse(input))).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('serialises the numbers of RFC 8785 Appendix B as ECMAScript does', () => {
    const cases: [string, string][] = [
      ['0000000000000000', '0'],
      ['8000000000000000', '0'],
      ['0000000000000001', '5e-324'],
      ['8000000000000001', '-5e-324'],
      ['7fefffffffffffff', '1.7976931348623157e+308'],
      ['ffefffffffffffff', '-1.7976931348623157e+308'],
      ['4340000000000000', '9007199254740992'],
      ['c340000000000000', '-9007199254740992'],
      ['4430000000000000', '295147905179352830000'],
      ['44b52d02c7e14af5', '9.999999999999997e+22'],
      ['44b52d02c7e14af6', '1e+23'],
      ['44b52d02c7e14af7', '1.0000000000000001e+23'],
      ['444b1ae4d6e2ef4e', '999999999999999700000'],
      ['444b1ae4d6e2ef4f', '999999999999999900000'],
      ['444b1ae4d6e2ef50', '1e+21'],
      ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
      ['3eb0c6f7a0b5ed8d', '0.000001'],
      ['41b3de4355555553', '333333333.3333332'],
      ['41b3de4355555554', '333333333.33333325'],
      ['41b3de4355555555', '333333333.3333333'],
      ['41b3de4355555556', '333333333.3333334'],
      ['41b3de4355555557', '333333333.33333343'],
      ['becbf647612f3696', '-0.0000033333333333333333'],
      ['43143ff3c1cb0959', '1424953923781206.2'],
    ];
    for (const [hex, expected] of cases) expect(canonicalJson(Buffer.from(hex, 'hex').readDoubleBE(0)), hex).toBe(expected);
  });

  it('refuses NaN, Infinity (JSON.parse makes it of 1e400), lone surrogates and absurd nesting', () => {
    expect(() => canonicalJson(Buffer.from('7fffffffffffffff', 'hex').readDoubleBE(0))).toThrow(CanonicalJsonError);
    expect(() => canonicalJson(JSON.parse('{"a":1e400}'))).toThrow(CanonicalJsonError);
    expect(() => canonicalJson(JSON.parse('{"a":"\\ud800"}'))).toThrow(CanonicalJsonError);
    expect(() => canonicalJson(JSON.parse('{"\\udc00":1}'))).toThrow(CanonicalJsonError);
    expect(() => canonicalJson(JSON.parse('['.repeat(10_000) + ']'.repeat(10_000)))).toThrow(CanonicalJsonError);
  });

  it('leaves out absent optional fields, as JSON.stringify does, and keeps nested order canonical', () => {
    expect(canonicalJson({ b: undefined, a: { d: [1, { z: 0, y: '' }], c: null } })).toBe('{"a":{"c":null,"d":[1,{"y":"","z":0}]}}');
  });
});
