import { z } from 'zod';

export const nodeRedConfig = z.object({
  enabled: z.boolean().default(true),
  /** Encrypts flow credentials; also CAMPUS_FLOW_SECRET. */
  credentialSecret: z.string().min(16).optional(),
});

export type NodeRedConfig = z.infer<typeof nodeRedConfig>;
