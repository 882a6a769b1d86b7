import { z } from 'zod';

/** Campus maps (docs/console.md, Campus map): the floor plans an admin uploads. */
export const mapsConfig = z.strictObject({
  maxImageBytes: z.number().int().min(1024).max(20 * 1024 * 1024).default(5 * 1024 * 1024)
    .meta({ description: 'The largest floor plan or campus image accepted, in bytes; the API answers 413 past it, stops reading the body and stores nothing. At most 20 MiB: every console screen downloads the picture.' }),
});
export type MapsConfig = z.infer<typeof mapsConfig>;
