/**
 * Guardians' phone numbers out of the text a provider answers with, before it is logged or stored with a failed
 * message. Providers echo the number in many shapes: with a country code (`+86`, `0086`), in groups (`138 0013 8000`,
 * `138.0013.8000`), form-encoded (`%2B86+138…`), JSON-escaped (`\u0031\u0033…`), in full-width digits, with
 * zero-width characters between. The text is brought to one form first, then any Chinese mobile number is masked, and
 * the recipient's own number in whatever grouping (a number from elsewhere, which the mobile pattern does not know).
 */
const SEP = String.raw`[\s\-._/+()]`;
const MOBILE = new RegExp(String.raw`(?<!\d)(?:(?:\+|00)?86${SEP}?)?1[3-9](?:${SEP}?\d){9}(?!\d)`, 'g');

function normalize(s: string): string {
  return s
    .normalize('NFKC') // full-width digits and signs
    .replace(/[\u200b-\u200d\u2060\ufeff]/g, '')
    .replace(/\\u00(3[0-9]|2[0b]|2d)/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)))
    .replace(/%(2b|20|2d)/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

const masked = (digits: string): string => `${digits.slice(0, 3)}****${digits.slice(-4)}`;

export function scrubNumbers(s: string, recipient?: string | null): string {
  let out = normalize(s).replace(MOBILE, (m) => {
    const d = m.replace(/\D/g, '');
    return masked(d.slice(-11));
  });
  const own = recipient?.replace(/\D/g, '') ?? '';
  if (own.length >= 7) {
    // The last seven digits or more, in any grouping: enough to name a person, whatever country code came before.
    const tail = own.slice(-7);
    const pattern = new RegExp(`(?<!\\d)(?:\\d${SEP}?)*${[...tail].join(`${SEP}?`)}(?!\\d)`, 'g');
    out = out.replace(pattern, (m) => masked(m.replace(/\D/g, '')));
  }
  return out;
}
