/**
 * Orders grade and class names the way a school reads them: 初一 < 初二 < 初三, 初一(2)班 < 初一(10)班,
 * Grade 7 < Grade 10. Plain string order puts 初三 before 初二 (三 U+4E09 sorts before 二 U+4E8C).
 */
const digits: Record<string, string> = { 一: '1', 二: '2', 三: '3', 四: '4', 五: '5', 六: '6', 七: '7', 八: '8', 九: '9' };
const collator = new Intl.Collator('zh', { numeric: true });
const key = (s: string): string => s.replace(/[一二三四五六七八九]/g, (d) => digits[d]!);

/** Names first in school order; missing names (null) last. */
export function compareSchoolNames(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return collator.compare(key(a), key(b));
}
