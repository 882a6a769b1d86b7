/** The order the alerts page lists alerts in, apart from the page so it can be read and tested alone. */
import type { Alert, AlertStatus, Severity } from '../types.js';

const STATUS_RANK: Record<AlertStatus, number> = { open: 0, acknowledged: 1, resolved: 2 };
const SEVERITY_RANK: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };

/** Open before acknowledged, critical before warning, then the latest occurrence first: a new warning never pushes an open critical down. */
export function triageOrder(a: Alert, b: Alert): number {
  return (
    STATUS_RANK[a.status] - STATUS_RANK[b.status] ||
    SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] ||
    (a.lastRaisedAt < b.lastRaisedAt ? 1 : a.lastRaisedAt > b.lastRaisedAt ? -1 : a.id < b.id ? 1 : -1)
  );
}
