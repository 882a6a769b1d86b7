import type { z } from 'zod';
import { formatIssues } from '../../config/load.js';
import { GatewayError } from '../core/errors.js';

/** Parses a body or query with zod; a failure is a 400 naming each field path. */
export function parse<S extends z.ZodType>(schema: S, value: unknown, where: 'body' | 'query' | 'params' = 'body'): z.infer<S> {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const lines = formatIssues(r.error.issues).map((l) => `${where}.${l}`);
  throw new GatewayError('bad_request', lines.join('; '));
}
