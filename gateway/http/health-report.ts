/**
 * What GET /healthz answers: no imports, so the browser console shares it through gateway/api-types.ts.
 */
/**
 * One component in /healthz. `ok` says whether it counts against the gateway (false turns /healthz into 503);
 * `status` says what it is doing: working, off on purpose (`disabled`, `detail` says why), or not working.
 */
export interface ComponentReport {
  ok: boolean;
  status: 'ok' | 'disabled' | 'degraded';
  detail?: string;
  /** The detail as a stable code and its values, for the console to show in its language (`health.<code>`). */
  code?: string;
  params?: Record<string, string | number>;
  warning?: string;
}

export interface HealthReport {
  status: 'ok' | 'degraded';
  version: string;
  schemaVersion: number;
  uptimeS: number;
  components: Record<string, ComponentReport>;
}
