/** The pre-roll's byte cap holds for its newest segment too: one segment over the cap alone is not kept. */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PreRollBuffer } from '../../gateway/cameras/live/preroll.js';
import { tempDir } from '../helpers/temp.js';

describe('the pre-roll buffer', () => {
  it('drops even its newest segment when that one alone is over the byte cap, and keeps one within it', () => {
    const dir = tempDir('preroll-buffer-');
    const segment = (name: string, bytes: number, endAt: number) => {
      const file = join(dir, name);
      writeFileSync(file, Buffer.alloc(bytes));
      return { file, endAt, durationMs: 1000 };
    };
    const now = Date.now();
    const buf = new PreRollBuffer(dir, 60_000, 1000);
    buf.add(segment('a.ts', 400, now - 2000));
    buf.add(segment('b.ts', 400, now - 1000));
    expect(buf.bytes).toBe(800);
    // A camera with keyframes far apart: one closed segment larger than the whole pre-roll was kept.
    const big = segment('c.ts', 5000, now);
    buf.add(big);
    expect(buf.bytes).toBe(0);
    expect(existsSync(big.file)).toBe(false);
    buf.add(segment('d.ts', 300, now + 1000));
    expect(buf.bytes).toBe(300);
  });
});
