import type { Stream } from '../contract.js';

/** One envelope ready to go: the stamped JSON and where it came from in the outbox. */
export interface OutgoingMessage {
  seq: number;
  id: string;
  stream: Stream;
  bytes: number;
  payload: string;
}

export type SendOutcome =
  | { ok: true }
  /** retryable: the rows stay and are sent again (same ids); otherwise the upstream refused them for good (HTTP 4xx). */
  | { ok: false; retryable: boolean; status?: number; error: string };

export type TransportKind = 'mqtt' | 'https' | 'demo' | 'none';

export interface TransportEvents {
  /** The link is usable (again): the sender restarts from the oldest unconfirmed row. */
  onUp(): void;
  onDown(error: string | null): void;
  /** A message that claims to be a command from the city; `origin` says where it came from. */
  onCommand(payload: Buffer | string, origin: string): void;
}

/**
 * How envelopes leave the school. A transport confirms each send() exactly once through `done`:
 * ok only after the upstream confirmed it (MQTT PUBACK, HTTP 2xx).
 */
export interface Transport {
  readonly kind: TransportKind;
  /** Upstream shown in the status, with any password removed. */
  readonly target: string;
  /** Messages per send() call. */
  readonly maxBatch: number;
  readonly maxBatchBytes: number;
  /** Messages that may be unconfirmed at once. */
  readonly window: number;
  /**
   * Batches that may be unconfirmed at once. One where a failed batch must be resent before anything after it is
   * sent (HTTPS: a later batch must not reach the city first); MQTT keeps its order on one connection.
   */
  readonly batchesInFlight: number;
  start(events: TransportEvents): void;
  /** Whether send() may be called now. */
  ready(): boolean;
  /** Whether the upstream link is up (shown in the status). */
  connected(): boolean;
  /** When a link that is down will be tried again (epoch ms), for the status; null when up or not known. */
  nextAttemptAt?(): number | null;
  send(batch: OutgoingMessage[], done: (outcome: SendOutcome) => void): void;
  stop(): Promise<void>;
  /** The upstream's clock minus the gateway's (ms), where the transport can tell (HTTP's Date header); null when not known. */
  upstreamClockOffsetMs?(): number | null;
  /** Whether that clock comes over a link whose server was verified (https, certificate checked): only then may it vouch for ours. */
  upstreamClockVerified?(): boolean;
}

/** The URL without its password, for status pages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(invalid url)';
  }
}

/** How a transport logs in to the city and checks it (TLS files are paths, read when the transport starts). */
export interface CityCredentials {
  username?: string | undefined;
  password?: string | undefined;
  caFile?: string | undefined;
  certFile?: string | undefined;
  keyFile?: string | undefined;
  rejectUnauthorized: boolean;
}
