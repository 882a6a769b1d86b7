/**
 * The alert as the API sends it (GET /api/v1/alerts, the SSE stream) and the bus carries it. Kept apart from the
 * service so the browser console can take these types (`import type`, via gateway/api-types.ts) without pulling in
 * the store: this file imports nothing but zod, and gateway/api-types.tsconfig.json checks that it stays so.
 */
import { z } from 'zod';

export const severitySchema = z.enum(['info', 'warning', 'critical']);
export type Severity = z.infer<typeof severitySchema>;
export const alertStatusSchema = z.enum(['open', 'acknowledged', 'resolved']);
export type AlertStatus = z.infer<typeof alertStatusSchema>;

export interface Alert {
  id: string;
  type: string;
  severity: Severity;
  status: AlertStatus;
  /** What raised it: `reader:demo-gate-in`, `camera:cam-1`, `sensor:s-101`, `city`, … */
  source: string;
  message: string;
  accessPoint: string | null;
  zone: string | null;
  data: Record<string, unknown>;
  dedupKey: string;
  /** How many raises were folded into this alert within the cooldown. */
  count: number;
  snapshotIds: string[];
  /** Video clips of the moments around it (GET /api/v1/clips/:id); like snapshots, they stay in the school. */
  clipIds: string[];
  raisedAt: string;
  lastRaisedAt: string;
  acknowledgedBy: string | null;
  acknowledgedAt: string | null;
  ackNote: string | null;
  resolvedBy: string | null;
  resolvedAt: string | null;
  resolveNote: string | null;
}
