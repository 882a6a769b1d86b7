/**
 * The API's answer types that the browser console (console/) reads, in one place, so the console imports them
 * (`import type`) instead of keeping hand copies that drift. Only `export type` here, and only from files that
 * import nothing but zod: gateway/api-types.tsconfig.json builds their declarations for the console (a browser
 * program without Node's types) and fails if this set grows a file it does not list. The import rule
 * `console-imports-only-api-types` in .dependency-cruiser.cjs keeps this the console's one door into the gateway.
 */
import type { Alert } from './alerts/model.js';

export type { Alert, AlertStatus, Severity } from './alerts/model.js';
export type { ComponentReport, HealthReport } from './http/health-report.js';
export type { SalesSummary } from './wallet/sales-summary.js';

/** A keyset page (GET /alerts, /taps, /timeline): pass the last page's `nextBefore` as `before` for the next. */
export interface KeysetPage<T> {
  items: T[];
  nextBefore: string | null;
}

export type AlertPage = KeysetPage<Alert>;
