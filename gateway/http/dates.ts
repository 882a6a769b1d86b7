/**
 * Dates and times a request may carry (query, path or body), one set of rules for every route. Values outside the
 * years a school's records can span are refused with 400 here, before they reach the calendar code: a year 0 or 9999
 * made `Intl.DateTimeFormat` throw (a 500 with a stack in the log) or a query scan centuries.
 */
import { z } from 'zod';

const FIRST_DAY = '2000-01-01';
const LAST_DAY = '2099-12-31';
const FIRST_MS = Date.UTC(2000, 0, 1);
const END_MS = Date.UTC(2100, 0, 1);

/** A school day as `YYYY-MM-DD`, 2000-01-01 to 2099-12-31. */
export const calendarDate = z.iso
  .date('a date as YYYY-MM-DD')
  .refine((d) => d >= FIRST_DAY && d <= LAST_DAY, `a date between ${FIRST_DAY} and ${LAST_DAY}`);

/**
 * An instant as ISO 8601 with an offset (`2026-09-01T08:00:00+08:00`) or epoch milliseconds (10 to 13 digits), in
 * 2000–2099; parsed to epoch ms.
 */
export const instant = z
  .union([z.iso.datetime({ offset: true }), z.string().regex(/^\d{10,13}$/)], 'an ISO 8601 time with an offset, or epoch milliseconds')
  .transform((v) => (/^\d+$/.test(v) ? Number(v) : Date.parse(v)))
  .pipe(z.number().min(FIRST_MS, `a time from ${FIRST_DAY}`).max(END_MS - 1, `a time before 2100-01-01`));
