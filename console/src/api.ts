/** The gateway's REST API as the console uses it: bearer token, JSON, typed errors. */
import { clearSession, loadSession } from './session.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
  /** The route does not exist on this gateway (a module not installed or not built yet). */
  get unavailable(): boolean {
    return this.status === 404 && this.message === 'no such route';
  }
}

/**
 * The gateway did not answer (stopped, restarting, the network gone), as opposed to an answer it gave: the request
 * failed, or a proxy in front of it answered 502/503/504 without the gateway's JSON error body.
 */
export function isConnectionError(err: unknown): boolean {
  return err instanceof ApiError && (err.status === 0 || (err.code === 'http_error' && [502, 503, 504].includes(err.status)));
}

export type Query = Record<string, string | number | boolean | undefined | null>;

let onUnauthorized: () => void = () => {};
/** Called when the session expired mid-use: the app goes back to the login page. */
export function setUnauthorizedHandler(fn: () => void): void {
  onUnauthorized = fn;
}

export function apiUrl(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  const qs = params.toString();
  return `/api/v1${path}${qs ? `?${qs}` : ''}`;
}

async function request(path: string, init: { method?: string; body?: unknown; query?: Query; auth?: boolean } = {}): Promise<Response> {
  const headers = new Headers({ accept: 'application/json' });
  const session = loadSession();
  if (init.auth !== false && session) headers.set('authorization', `Bearer ${session.token}`);
  let body: string | undefined;
  if (init.body !== undefined) {
    headers.set('content-type', 'application/json');
    body = JSON.stringify(init.body);
  }
  let res: Response;
  try {
    res = await fetch(apiUrl(path, init.query), { method: init.method ?? 'GET', headers, body });
  } catch (err) {
    throw new ApiError(0, 'network', err instanceof Error ? err.message : String(err));
  }
  if (res.ok) return res;
  let code = 'http_error';
  let message = res.statusText;
  try {
    const j = (await res.json()) as { error?: { code?: string; message?: string } };
    code = j.error?.code ?? code;
    message = j.error?.message ?? message;
  } catch {
    // not JSON: keep the status text
  }
  if (res.status === 401 && init.auth !== false) {
    clearSession();
    onUnauthorized();
  }
  throw new ApiError(res.status, code, message);
}

export async function getJson<T>(path: string, query?: Query): Promise<T> {
  return (await (await request(path, { query })).json()) as T;
}

export async function send<T>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown, opts: { auth?: boolean } = {}): Promise<T> {
  const res = await request(path, { method, body: body ?? {}, auth: opts.auth });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/** A blob and the response's headers, in which the gateway says what the bytes are (a snapshot's `x-snapshot-taken-at`). */
export interface BlobAnswer {
  blob: Blob;
  headers: Headers;
}

/** Images behind the bearer token (snapshots): fetched with the header, shown through an object URL. */
export async function getBlobAnswer(path: string, query?: Query): Promise<BlobAnswer> {
  const res = await request(path, { query });
  return { blob: await res.blob(), headers: res.headers };
}

/** `getBlobAnswer` for a caller that needs the bytes only. */
export async function getBlob(path: string, query?: Query): Promise<Blob> {
  return (await getBlobAnswer(path, query)).blob;
}

/** The bus as Server-Sent Events; EventSource cannot set headers, so the token goes in the query. */
export function openEvents(kinds: string[]): EventSource {
  const token = loadSession()?.token ?? '';
  return new EventSource(apiUrl('/events/stream', { access_token: token, kinds: kinds.join(',') }));
}

/** /healthz is outside /api/v1 and answers 503 with the same body when degraded. */
export async function getHealth<T>(): Promise<T> {
  let res: Response;
  try {
    res = await fetch('/healthz', { headers: { accept: 'application/json' } });
  } catch (err) {
    throw new ApiError(0, 'network', err instanceof Error ? err.message : String(err));
  }
  try {
    return (await res.json()) as T;
  } catch {
    throw new ApiError(res.status, 'http_error', res.statusText);
  }
}
