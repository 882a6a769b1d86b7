/** Korean particles chosen after the word they follow (console/src/i18n/josa.ts). */
import { describe, expect, it } from 'vitest';
import { withParticle } from '../../console/src/i18n/josa.js';

describe('Korean particles', () => {
  it('follow the last Hangul syllable: with a final consonant 이/을/은/과, without 가/를/는/와', () => {
    expect(withParticle('정문', '이/가')).toBe('정문이');
    expect(withParticle('카메라', '이/가')).toBe('카메라가');
    expect(withParticle('식당', '을/를')).toBe('식당을');
    expect(withParticle('센서', '을/를')).toBe('센서를');
    expect(withParticle('운동장', '은/는')).toBe('운동장은');
    expect(withParticle('기숙사', '은/는')).toBe('기숙사는');
    expect(withParticle('교실', '과/와')).toBe('교실과');
  });

  it('으로/로: 로 after a vowel and after ㄹ, 으로 after any other final consonant', () => {
    expect(withParticle('정문', '으로/로')).toBe('정문으로');
    expect(withParticle('교실', '으로/로')).toBe('교실로');
    expect(withParticle('카메라', '으로/로')).toBe('카메라로');
  });

  it('reads digits in Sino-Korean and Latin letters by their Korean names', () => {
    expect(withParticle('0BADCAFE', '이/가')).toBe('0BADCAFE가'); // 이
    expect(withParticle('카드 101', '이/가')).toBe('카드 101이'); // 일
    expect(withParticle('12', '을/를')).toBe('12를'); // 이
    expect(withParticle('demo-sensor-103', '이/가')).toBe('demo-sensor-103이'); // 삼
    expect(withParticle('PIN', '을/를')).toBe('PIN을'); // 엔
    expect(withParticle('cam-main-gate', '은/는')).toBe('cam-main-gate는');
  });

  it('skips a trailing parenthesis, and writes both forms when the reading is unknown (a Chinese name)', () => {
    expect(withParticle('김민수(S20250002)', '이/가')).toBe('김민수(S20250002)가');
    expect(withParticle('정문 (main-gate)', '을/를')).toBe('정문 (main-gate)을');
    expect(withParticle('王芳', '이/가')).toBe('王芳이(가)');
  });

  it('leaves a fixed particle as written', () => {
    expect(withParticle('정문', '에서')).toBe('정문에서');
  });
});
