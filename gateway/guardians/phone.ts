/**
 * Chinese mobile numbers as schools type them: with or without +86 / 0086, with spaces or dashes, in full-width
 * digits (a sheet typed with a Chinese input method). Normalised to the 11 digits; anything else is refused.
 */
const FULL_WIDTH = /[\uFF10-\uFF19\uFF0B\uFF0D\u3000]/g;

export type PhoneResult = { ok: true; phone: string } | { ok: false; reason: string };

export function normalizePhone(input: string): PhoneResult {
  if (input.length > 40) return { ok: false, reason: 'too long for a mobile number' };
  const ascii = input.replace(FULL_WIDTH, (c) => (c === '\u3000' ? ' ' : String.fromCharCode(c.charCodeAt(0) - 0xfee0)));
  let digits = ascii.replace(/[\s\-().]/g, '');
  if (digits.startsWith('+86')) digits = digits.slice(3);
  else if (digits.startsWith('0086')) digits = digits.slice(4);
  else if (digits.startsWith('86') && digits.length === 13) digits = digits.slice(2);
  if (!/^\d+$/.test(digits)) return { ok: false, reason: 'not a mobile number (digits, optionally +86)' };
  if (!/^1[3-9]\d{9}$/.test(digits)) return { ok: false, reason: 'not a Chinese mobile number (11 digits starting 13–19)' };
  return { ok: true, phone: digits };
}

/** `138****5678`: what every screen, log line and API answer shows, except the admin's edit form. */
export function maskPhone(phone: string): string {
  return phone.length >= 7 ? `${phone.slice(0, 3)}${'*'.repeat(phone.length - 7)}${phone.slice(-4)}` : '****';
}
