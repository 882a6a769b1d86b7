import { z } from 'zod';

export const cloudConfig = z.object({
  enabled: z.boolean().default(true),
  /** mqtt://, mqtts:// or https:// — also settable with CAMPUS_UPSTREAM_URL. Unset in demo mode: a local simulated city sink. */
  upstreamUrl: z.string().url().optional(),
});

export type CloudConfig = z.infer<typeof cloudConfig>;
