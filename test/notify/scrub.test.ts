/** What a provider's error text keeps of a guardian's number once it is logged or stored with the failed message. */
import { describe, expect, it } from 'vitest';
import { scrubNumbers } from '../../gateway/notify/sender.js';

describe('numbers in a provider answer', () => {
  it('are masked however the provider writes them', () => {
    // An attacker review: "0086…" and numbers in groups went to the log and the outbox whole.
    for (const written of ['13800138000', '+8613800138000', '008613800138000', '8613800138000', '+86 138 0013 8000', '138-0013-8000', '138 0013 8000']) {
      expect(scrubNumbers(`isv.MOBILE_NUMBER_ILLEGAL: ${written} is not valid`), written).toBe('isv.MOBILE_NUMBER_ILLEGAL: 138****8000 is not valid');
    }
    // Not what is no mobile number: an id, a time, a longer digit run.
    for (const kept of ['RequestId 2026120612345678901', 'at 20261206', 'code 12800138000']) expect(scrubNumbers(kept)).toBe(kept);
  });
});
