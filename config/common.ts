import { z } from 'zod';

/** Identifiers that appear in MQTT topics and URLs: no wildcards, slashes or spaces. */
export const deviceId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'letters, digits, "_", "." or "-" (at most 64), no "/", "+" or "#"');

/**
 * A device secret as stored in config: the scrypt hash printed by `campus-gateway hash-secret`.
 * Plain secrets never go in the file.
 */
export const secretHash = z.string().regex(/^scrypt\$/, 'a hash from `campus-gateway hash-secret` (starts with "scrypt$")');

/** "HH:MM" local time of day. */
export const timeOfDay = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'time of day as HH:MM');

/**
 * A name people read (an access point, zone, camera, sensor, reader or terminal): one string for every language, or
 * `{zh, ko, en}` with at least one of them. The console shows the one in its language (falling back to en, zh, ko,
 * then the id); the gateway's own texts pick theirs with gateway/core/localized-name.ts.
 */
export const localizedName = z.union([
  z.string().trim().min(1).max(100),
  z
    .strictObject({
      zh: z.string().trim().min(1).max(100).optional(),
      ko: z.string().trim().min(1).max(100).optional(),
      en: z.string().trim().min(1).max(100).optional(),
    })
    .refine((n) => n.zh !== undefined || n.ko !== undefined || n.en !== undefined, 'give at least one of zh, ko, en'),
]);
export type LocalizedName = z.infer<typeof localizedName>;
