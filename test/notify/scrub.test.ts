/** What a provider's error text keeps of a guardian's number once it is logged or stored with the failed message. */
import { describe, expect, it } from 'vitest';
import { shortReason } from '../../gateway/notify/channels/types.js';
import { scrubNumbers } from '../../gateway/notify/scrub.js';

describe('numbers in a provider answer', () => {
  it('are masked however the provider writes them', () => {
    // An attacker review: "0086…" and numbers in groups went to the log and the outbox whole.
    for (const written of ['13800138000', '+8613800138000', '008613800138000', '8613800138000', '+86 138 0013 8000', '138-0013-8000', '138 0013 8000']) {
      expect(scrubNumbers(`isv.MOBILE_NUMBER_ILLEGAL: ${written} is not valid`), written).toBe('isv.MOBILE_NUMBER_ILLEGAL: 138****8000 is not valid');
    }
    // The second review: other separators, encodings and digits, and a number cut by the reason's length limit.
    for (const written of ['１３８００１３８０００', '%2B86+138+0013+8000', '138.0013.8000', '138/0013/8000', '138_0013_8000', '138 001 38000', '\\u0031\\u0033\\u0038\\u0030\\u0030\\u0031\\u0033\\u0038\\u0030\\u0030\\u0030', '138\u200b0013\u200b8000']) {
      expect(scrubNumbers(`bad number ${written}.`), written).toBe('bad number 138****8000.');
    }
    expect(shortReason(`${'x'.repeat(290)} to 13800138000`)).not.toContain('1380013');
    // The recipient's own number, from anywhere (a Korean guardian's), in the grouping the provider chose.
    expect(scrubNumbers('rejected: +82 10-1234-5678', '+821012345678')).toBe('rejected: +821****5678');
    // Not what is no mobile number: an id, a time, a longer digit run.
    for (const kept of ['RequestId 2026120612345678901', 'at 20261206', 'code 12800138000']) expect(scrubNumbers(kept)).toBe(kept);
  });
});
