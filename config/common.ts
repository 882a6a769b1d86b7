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
