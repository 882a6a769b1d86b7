/**
 * HTTPS batch upload: POST <upstream>/envelopes with a JSON array of envelopes and an Idempotency-Key derived
 * from the ids in the batch (a resend of the same rows carries the same key). 2xx confirms the batch; 5xx, 408,
 * 429, timeouts and network errors are retried; any other 4xx means the city will never take these rows, so
 * they are parked at the school (cloud_parked) and counted. Commands are polled with GET <upstream>/commands.
 *
 * Plain http:// is for loopback tests and a local city simulator; elsewhere the transport policy refuses it
 * unless cloud.allowInsecure (config/cloud.ts).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Logger } from '../../gateway/core/logger.js';
import { UpstreamClock } from '../upstream-clock.js';
import { redactUrl, type CityCredentials, type OutgoingMessage, type SendOutcome, type Transport, type TransportEvents } from './types.js';

/** The city's answers are a few bytes of JSON, its commands far below this: past it an answer is not read on. */
const MAX_ANSWER_BYTES = 1024 * 1024;

export interface HttpsTransportOptions extends CityCredentials {
  url: string;
  schoolId: string;
  batchMaxMessages: number;
  batchMaxBytes: number;
  timeoutMs: number;
  commandPollS: number;
  log: Logger;
  /** The gateway's clock (epoch ms), against which the city's Date header is compared. */
  now: () => number;
}

interface Reply {
  status: number;
  body: string;
  retryAfterS?: number;
}

export class HttpsTransport implements Transport {
  readonly kind = 'https' as const;
  readonly target: string;
  readonly maxBatch: number;
  readonly maxBatchBytes: number;
  readonly window: number;
  /** One batch at a time keeps the order within each stream when a batch fails. */
  readonly batchesInFlight = 1;
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly auth: string | undefined;
  private events: TransportEvents | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private lastOk = false;
  private stopped = false;
  private readonly requests = new Set<http.ClientRequest>();
  private readonly cityClock = new UpstreamClock();

  constructor(private readonly opts: HttpsTransportOptions) {
    this.target = redactUrl(opts.url);
    this.maxBatch = opts.batchMaxMessages;
    this.maxBatchBytes = opts.batchMaxBytes;
    this.window = opts.batchMaxMessages;
    const u = new URL(opts.url);
    const username = opts.username ?? (u.username ? decodeURIComponent(u.username) : undefined);
    const password = opts.password ?? (u.password ? decodeURIComponent(u.password) : undefined);
    this.auth = username !== undefined ? `Basic ${Buffer.from(`${username}:${password ?? ''}`).toString('base64')}` : undefined;
    u.username = '';
    u.password = '';
    if (!u.pathname.endsWith('/')) u.pathname += '/';
    this.base = u;
    this.agent =
      u.protocol === 'https:'
        ? new https.Agent({
            keepAlive: true,
            maxSockets: 2,
            rejectUnauthorized: opts.rejectUnauthorized,
            ...(opts.caFile ? { ca: readFileSync(opts.caFile) } : {}),
            ...(opts.certFile ? { cert: readFileSync(opts.certFile) } : {}),
            ...(opts.keyFile ? { key: readFileSync(opts.keyFile) } : {}),
          })
        : new http.Agent({ keepAlive: true, maxSockets: 2 });
  }

  start(events: TransportEvents): void {
    this.events = events;
    events.onUp();
    const poll = (): void => {
      if (this.stopped) return;
      this.pollCommands().finally(() => {
        if (!this.stopped) this.pollTimer = setTimeout(poll, this.opts.commandPollS * 1000);
      });
    };
    this.pollTimer = setTimeout(poll, 0);
  }

  ready(): boolean {
    return !this.stopped;
  }

  connected(): boolean {
    return this.lastOk;
  }

  send(batch: OutgoingMessage[], done: (outcome: SendOutcome) => void): void {
    const body = `[${batch.map((m) => m.payload).join(',')}]`;
    const key = createHash('sha256')
      .update(batch.map((m) => m.id).join(','))
      .digest('hex')
      .slice(0, 32);
    this.request('POST', 'envelopes', body, { 'idempotency-key': key }).then(
      (reply) => {
        if (reply.status >= 200 && reply.status < 300) {
          this.up();
          done({ ok: true });
          return;
        }
        const detail = `HTTP ${reply.status} from ${this.target}: ${reply.body.slice(0, 200)}`;
        // The server answered, so the link works even when it refuses.
        if (reply.status >= 500 || reply.status === 408 || reply.status === 429) {
          this.down(detail);
          done({ ok: false, retryable: true, status: reply.status, error: detail });
        } else {
          this.up();
          done({ ok: false, retryable: false, status: reply.status, error: detail });
        }
      },
      (err: Error) => {
        const detail = `${err.message} (${this.target})`;
        this.down(detail);
        done({ ok: false, retryable: true, error: detail });
      },
    );
  }

  private up(): void {
    this.lastOk = true;
  }

  /** The sender learns of the failure from done(); this only feeds the status. */
  private down(_error: string): void {
    this.lastOk = false;
  }

  private async pollCommands(): Promise<void> {
    try {
      const reply = await this.request('GET', `commands?schoolId=${encodeURIComponent(this.opts.schoolId)}`);
      if (reply.status === 204 || reply.status === 404) return;
      if (reply.status < 200 || reply.status >= 300) {
        this.opts.log.debug({ status: reply.status }, 'command poll refused');
        return;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(reply.body);
      } catch {
        this.events?.onCommand(reply.body, 'https');
        return;
      }
      const list = Array.isArray(parsed) ? parsed : (parsed as { commands?: unknown }).commands;
      if (!Array.isArray(list)) {
        this.events?.onCommand(reply.body, 'https');
        return;
      }
      for (const c of list) this.events?.onCommand(JSON.stringify(c), 'https');
    } catch (err) {
      this.opts.log.debug({ err }, 'command poll failed');
    }
  }

  private request(method: 'GET' | 'POST', path: string, body?: string, extra: Record<string, string> = {}): Promise<Reply> {
    const url = new URL(path, this.base);
    const lib = url.protocol === 'https:' ? https : http;
    const headers: Record<string, string | number> = { accept: 'application/json', ...extra };
    if (this.auth) headers.authorization = this.auth;
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = Buffer.byteLength(body);
    }
    return new Promise<Reply>((resolve, reject) => {
      const sentAt = this.opts.now();
      const req = lib.request(url, { method, headers, agent: this.agent, timeout: this.opts.timeoutMs }, (res) => {
        // Any answer, a refusal too, says what time the city thinks it is.
        this.cityClock.record(res.headers.date, sentAt, this.opts.now());
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_ANSWER_BYTES) req.destroy(new Error(`answer over ${MAX_ANSWER_BYTES} bytes`));
          else chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      this.requests.add(req);
      req.on('close', () => this.requests.delete(req));
      // A stalled server (accepts, never answers) counts as a network error once the timeout passes.
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.opts.timeoutMs} ms`)));
      // That timeout is for silence only: an answer trickling in a byte at a time would hold the one batch in flight,
      // and with it everything behind it, for ever. So the whole exchange has a deadline too.
      const deadline = setTimeout(() => req.destroy(new Error(`no complete answer within ${2 * this.opts.timeoutMs} ms`)), 2 * this.opts.timeoutMs);
      req.on('close', () => clearTimeout(deadline));
      req.on('error', reject);
      req.end(body);
    });
  }

  upstreamClockOffsetMs(): number | null {
    return this.cityClock.offsetMs();
  }

  upstreamClockVerified(): boolean {
    return this.base.protocol === 'https:' && this.opts.rejectUnauthorized;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.pollTimer);
    for (const r of this.requests) r.destroy(new Error('stopping'));
    this.agent.destroy();
  }
}
