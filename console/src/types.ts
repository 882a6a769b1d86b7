/**
 * Shapes of the API answers the console reads. They are the gateway's own types (gateway/api-types.ts), taken
 * with `import type` so they vanish from the emitted JavaScript; the console keeps no copies that could drift.
 */
export type {
  Alert,
  AlertPage,
  AlertStatus,
  ComponentReport,
  HealthReport,
  SalesSummary,
  Severity,
} from '../../gateway/api-types.js';

export const ALERT_KINDS = ['alert.raised', 'alert.updated', 'alert.acknowledged', 'alert.resolved'] as const;
export type AlertEventKind = (typeof ALERT_KINDS)[number];
