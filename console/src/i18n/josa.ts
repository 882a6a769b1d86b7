/**
 * Korean particles (조사) that change with the word before them: 이/가, 을/를, 은/는, 과/와, 으로/로, 아/야.
 * A dictionary writes `{place:에서}` for a fixed particle or `{uid:이/가}` for a pair: the first form follows a
 * syllable with a final consonant (받침), the second one without; 으로/로 takes 로 after ㄹ as well.
 *
 * What the last sound is when the word does not end in Hangul:
 * - a trailing parenthesis "(S20250002)" is skipped: the particle follows the word before it, as in print;
 * - digits are read in Sino-Korean (일, 이, 삼 …): 0 1 3 6 7 8 end in a consonant; 2 4 5 9 do not;
 * - Latin letters are read by their Korean letter names: L(엘) M(엠) N(엔) R(알) end in a consonant, the others not;
 * - anything else (a Chinese name, whose Korean reading we cannot know, or a symbol) gets both forms,
 *   "이(가)", as Korean software writes when it cannot tell.
 */

type Final = 'consonant' | 'rieul' | 'vowel' | 'unknown';

const DIGIT_FINAL: Record<string, Final> = { '0': 'consonant', '1': 'rieul', '2': 'vowel', '3': 'consonant', '4': 'vowel', '5': 'vowel', '6': 'consonant', '7': 'rieul', '8': 'rieul', '9': 'vowel' };

function lastSound(word: string): Final {
  let w = word.trim();
  // "王芳(S20250002)" → "王芳"; "(…)" alone is left as it is.
  for (;;) {
    const m = /^(.+?)\s*[(（][^()（）]*[)）]$/u.exec(w);
    if (!m) break;
    w = m[1]!.trim();
  }
  w = w.replace(/["'”’」』\]]+$/u, '');
  const ch = [...w].pop();
  if (ch === undefined) return 'unknown';
  const code = ch.codePointAt(0)!;
  if (code >= 0xac00 && code <= 0xd7a3) {
    const jong = (code - 0xac00) % 28;
    return jong === 0 ? 'vowel' : jong === 8 ? 'rieul' : 'consonant';
  }
  if (ch in DIGIT_FINAL) return DIGIT_FINAL[ch]!;
  if (/[a-z]/i.test(ch)) return /[lr]/i.test(ch) ? 'rieul' : /[mn]/i.test(ch) ? 'consonant' : 'vowel';
  return 'unknown';
}

/** `word` followed by `particle` ("이/가", "을/를", "으로/로" or a fixed one like "에서") chosen for it. */
export function withParticle(word: string, particle: string): string {
  const pair = particle.split('/');
  if (pair.length !== 2) return word + particle;
  const [afterConsonant, afterVowel] = pair as [string, string];
  const sound = lastSound(word);
  if (sound === 'unknown') return `${word}${afterConsonant}(${afterVowel})`;
  // 으로/로 (the consonant form is 으 + the vowel form): 로 after ㄹ too.
  if (afterConsonant.codePointAt(0) === 0xc73c && afterConsonant.slice(1) === afterVowel) return word + (sound === 'consonant' ? afterConsonant : afterVowel);
  return word + (sound === 'vowel' ? afterVowel : afterConsonant);
}
