/** Shapes of the API answers the console reads (gateway/alerts/alerts.ts and friends are the source). */
export type Severity = 'info' | 'warning' | 'critical';
export type AlertStatus = 'open' | 'acknowledged' | 'resolved';

export interface Alert {
  id: string;
  type: string;
  severity: Severity;
  status: AlertStatus;
  source: string;
  message: string;
  accessPoint: string | null;
  zone: string | null;
  data: Record<string, unknown>;
  count: number;
  snapshotIds: string[];
  /** Absent from gateways without video. */
  clipIds?: string[];
  raisedAt: string;
  lastRaisedAt: string;
  acknowledgedBy: string | null;
  acknowledgedAt: string | null;
  ackNote: string | null;
  resolvedBy: string | null;
  resolvedAt: string | null;
  resolveNote: string | null;
}

export interface AlertPage {
  items: Alert[];
  nextBefore: string | null;
}

export interface Health {
  status: 'ok' | 'degraded';
  version: string;
  schemaVersion: number;
  uptimeS: number;
  components: Record<string, ComponentHealth>;
}

export interface ComponentHealth {
  ok: boolean;
  status?: 'ok' | 'disabled' | 'degraded';
  detail?: string;
  /** The detail as a stable code and its values, shown in the console's language (`health.<code>`). */
  code?: string;
  params?: Record<string, string | number>;
}

export const ALERT_KINDS = ['alert.raised', 'alert.updated', 'alert.acknowledged', 'alert.resolved'] as const;
export type AlertEventKind = (typeof ALERT_KINDS)[number];
