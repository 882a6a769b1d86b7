import { z } from 'zod';
import { secretHash } from './common.js';

/** An API token for deploying flows from CI or a script (`Authorization: Bearer <secret>`). */
export const flowAdminToken = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, "_", "." or "-"')
    .meta({ description: 'Shown in Node-RED\'s audit log as the user that deployed.' }),
  /** `campus-gateway hash-secret` prints the secret and this hash; only the hash goes in the file. */
  secretHash,
  permissions: z.enum(['admin', 'read']).default('admin').meta({ description: '`admin`: read and deploy flows; `read`: read only.' }),
});

export const nodeRedConfig = z.strictObject({
  enabled: z.boolean().default(true),
  credentialSecret: z.string().min(16).optional()
    .meta({ description: 'Encrypts flow credentials; also CAMPUS_FLOW_SECRET. Without it, demo mode generates one and keeps it in `<dataDir>/node-red/.credential-secret`; a production gateway leaves Node-RED off and says why.' }),
  adminTokens: z.array(flowAdminToken).default([])
    .meta({ description: 'Tokens that may use the admin API at /flows (GET/POST /flows/flows) without an editor login.' }),
  functionTimeoutS: z.number().int().nonnegative().default(10)
    .meta({ description: 'Stop a function node that runs longer than this (Node-RED\'s `functionTimeout`, seconds; 0 = no limit).' }),
});

export type NodeRedConfig = z.infer<typeof nodeRedConfig>;
export type FlowAdminToken = z.infer<typeof flowAdminToken>;
