/**
 * A time stamped by a device's own clock (a sensor reading, a terminal's offline sale): epoch seconds or
 * milliseconds (below 1e12 it can only be seconds), or ISO 8601 with a zone in the forms devices print: extended or
 * basic, `T` or a space, `Z`/`z`, `±HH`, `±HHMM` or `±HH:MM`, optional fractions. A time without a zone is refused:
 * it would be read in the gateway's. Whether the clock was right is the caller's to judge.
 */
const ISO_WITH_ZONE =
  /^(\d{4})-?(\d{2})-?(\d{2})[Tt ](\d{2}):?(\d{2})(?::?(\d{2})(?:[.,](\d{1,9}))?)?\s*(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)$/;

/**
 * 10000-01-01T00:00:00Z. A number past it is no clock reading but garbage or an attack (9e15 is past what a Date can
 * hold): taken as a time, it made formatting throw deep inside a write, and a terminal's offline batch failed as a
 * storage error it retried for ever. A clock that is merely wrong (1970, 2099) is still a time, for the caller to judge.
 */
const LATEST_MS = 253_402_300_800_000;

/** Epoch ms, or undefined when `raw` is not a time in one of the forms above. */
export function parseDeviceTime(raw: unknown): number | undefined {
  if (typeof raw === 'number') {
    const t = Math.round(raw < 1e12 ? raw * 1000 : raw);
    return Number.isFinite(t) && raw > 0 && t < LATEST_MS ? t : undefined;
  }
  if (typeof raw !== 'string') return undefined;
  const m = ISO_WITH_ZONE.exec(raw.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, z, sign, oh, om] = m;
  const ms = frac ? Math.round(Number(`0.${frac}`) * 1000) : 0;
  const utc = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0), ms);
  const offsetMin = z ? 0 : (sign === '-' ? -1 : 1) * (Number(oh) * 60 + Number(om ?? 0));
  const t = utc - offsetMin * 60_000;
  return Number.isFinite(t) ? t : undefined;
}
