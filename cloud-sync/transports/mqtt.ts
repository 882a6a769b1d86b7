/**
 * MQTT to the city broker (mqtt 5 client library, QoS 1). Each connection attempt uses a fresh client with
 * mqtt.js's own reconnect off: the SQLite outbox is the only store of unsent messages, so nothing is replayed
 * twice from a library queue and nothing is lost from one (mqtt.js #2015). Reconnects back off with jitter.
 */
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from '../../gateway/core/logger.js';
import { Backoff } from '../../gateway/core/pacing.js';
import { PacketScanner } from '../../gateway/core/mqtt-packet-limits.js';
import { MAX_COMMAND_BYTES } from '../commands.js';
import { redactUrl, type CityCredentials, type OutgoingMessage, type SendOutcome, type Transport, type TransportEvents } from './types.js';

/**
 * The largest packet taken from the city's broker. A command over MAX_COMMAND_BYTES is still read and then ignored
 * (counted as malformed) without dropping the link, which would lose what the broker queued meanwhile (clean
 * session); past this bound it is no command gone wrong but an attack on memory, and the link is closed.
 */
const MAX_PACKET_BYTES = 16 * MAX_COMMAND_BYTES;

export interface MqttTransportOptions extends CityCredentials {
  url: string;
  clientId: string;
  /** Topic of each stream. */
  topicFor: (stream: string) => string;
  commandsTopic: string;
  protocolVersion: 4 | 5;
  keepaliveS: number;
  window: number;
  backoff: { initialMs: number; maxMs: number };
  log: Logger;
}

export class MqttTransport implements Transport {
  readonly kind = 'mqtt' as const;
  readonly target: string;
  /** Several publishes per send() call (each still confirmed by its own PUBACK) to cut per-message overhead. */
  readonly maxBatch = 64;
  readonly maxBatchBytes = Number.MAX_SAFE_INTEGER;
  readonly window: number;
  /** In order on one connection; a dropped one fails every unconfirmed publish and the sender starts again. */
  readonly batchesInFlight = Number.POSITIVE_INFINITY;
  private client: MqttClient | undefined;
  private up = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private nextAttempt: number | null = null;
  private events: TransportEvents | undefined;
  private readonly backoff: Backoff;
  private readonly topics = new Map<string, string>();

  constructor(private readonly opts: MqttTransportOptions) {
    this.target = redactUrl(opts.url);
    this.window = opts.window;
    this.backoff = new Backoff(opts.backoff.initialMs, opts.backoff.maxMs);
  }

  start(events: TransportEvents): void {
    this.events = events;
    this.connect();
  }

  ready(): boolean {
    return this.up;
  }

  connected(): boolean {
    return this.up;
  }

  nextAttemptAt(): number | null {
    return this.up ? null : this.nextAttempt;
  }

  private clientOptions(): IClientOptions {
    const o = this.opts;
    const u = new URL(o.url);
    const options: IClientOptions = {
      clientId: o.clientId,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      keepalive: o.keepaliveS,
      protocolVersion: o.protocolVersion,
      rejectUnauthorized: o.rejectUnauthorized,
    };
    // MQTT 5 lets the client say so: a well-behaved broker then drops such a message rather than end the link.
    if (o.protocolVersion === 5) options.properties = { maximumPacketSize: MAX_PACKET_BYTES };
    const username = o.username ?? (u.username ? decodeURIComponent(u.username) : undefined);
    const password = o.password ?? (u.password ? decodeURIComponent(u.password) : undefined);
    if (username !== undefined) options.username = username;
    if (password !== undefined) options.password = password;
    // Files are read on every attempt so that a renewed certificate is picked up without a restart.
    if (o.caFile) options.ca = readFileSync(o.caFile);
    if (o.certFile) options.cert = readFileSync(o.certFile);
    if (o.keyFile) options.key = readFileSync(o.keyFile);
    return options;
  }

  private connect(): void {
    if (this.stopped) return;
    this.nextAttempt = null;
    let options: IClientOptions;
    try {
      options = this.clientOptions();
    } catch (err) {
      this.fail(`cannot read TLS files: ${(err as Error).message}`);
      return;
    }
    const u = new URL(this.opts.url);
    u.username = '';
    u.password = '';
    const client = mqtt.connect(u.toString(), options);
    this.client = client;
    let failed = false;
    const onFailure = (message: string): void => {
      if (failed || this.client !== client) return;
      failed = true;
      const wasUp = this.up;
      this.up = false;
      // end(true) calls back every unconfirmed publish with an error, which the sender takes as "send again".
      client.end(true);
      this.fail(message, wasUp);
    };
    // mqtt.js buffers a packet whole before anyone sees it: a broker turned hostile could stream a PUBLISH declaring
    // 256 MB into the gateway's memory (outside the JS heap's cap). Each packet's size is read from its header first,
    // ahead of the parser, and past what a command can be the link is closed.
    const scanner = new PacketScanner({ maxPacketBytes: MAX_PACKET_BYTES, offlineUploadMaxBytes: MAX_PACKET_BYTES });
    client.stream.prependListener('data', (chunk: Buffer) => {
      const verdict = scanner.scan(chunk);
      if (verdict.ok || failed) return;
      client.stream.destroy();
      onFailure(`the city broker sent a packet far too large for a command: ${verdict.detail}`);
    });
    client.on('connect', () => {
      client.subscribe(this.opts.commandsTopic, { qos: 1 }, (err) => {
        if (err) return onFailure(`subscribe to ${this.opts.commandsTopic} failed: ${err.message}`);
        if (this.client !== client || failed) return;
        this.up = true;
        this.backoff.reset();
        this.opts.log.info({ upstream: this.target }, 'connected to the city broker');
        this.events?.onUp();
      });
    });
    client.on('message', (topic, payload) => {
      this.events?.onCommand(payload, topic === this.opts.commandsTopic ? 'mqtt' : `mqtt:${topic}`);
    });
    client.on('error', (err) => onFailure(describeError(err)));
    client.on('close', () => onFailure('connection closed'));
    client.on('offline', () => onFailure('offline'));
  }

  private fail(message: string, wasUp = false): void {
    this.up = false;
    if (wasUp) this.opts.log.warn({ upstream: this.target, error: message }, 'lost the city broker');
    this.events?.onDown(message);
    if (this.stopped) return;
    const wait = this.backoff.next();
    clearTimeout(this.timer);
    this.nextAttempt = Date.now() + wait;
    this.timer = setTimeout(() => this.connect(), wait);
  }

  send(batch: OutgoingMessage[], done: (outcome: SendOutcome) => void): void {
    const client = this.client;
    if (!client || !this.up || batch.length === 0) {
      done({ ok: false, retryable: true, error: 'not connected' });
      return;
    }
    // The batch is confirmed when every message in it has its PUBACK; the first error fails it (all are resent).
    let pending = batch.length;
    let settled = false;
    const onAck = (err?: Error): void => {
      if (settled) return;
      if (err) {
        settled = true;
        done({ ok: false, retryable: true, error: describeError(err) });
      } else if (--pending === 0) {
        settled = true;
        done({ ok: true });
      }
    };
    for (const msg of batch) {
      let topic = this.topics.get(msg.stream);
      if (!topic) this.topics.set(msg.stream, (topic = this.opts.topicFor(msg.stream)));
      client.publish(topic, msg.payload, { qos: 1 }, onAck);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.up = false;
    const c = this.client;
    this.client = undefined;
    if (c) await c.endAsync(true).catch(() => {});
  }
}

/** mqtt.js errors, with the likely cause for the CONNACK codes people hit. */
function describeError(err: Error & { code?: string | number }): string {
  const code = err.code;
  if (code === 4 || code === 134) return `${err.message} (wrong username or password for the city broker)`;
  if (code === 5 || code === 135) return `${err.message} (the city broker refused this school: check username, password or client certificate)`;
  if (code === 'ECONNREFUSED') return `${err.message} (nothing listening: is the upstream URL right?)`;
  if (typeof code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO/.test(code)) return `${err.message} (TLS: check cloud.tls.caFile)`;
  return err.message;
}
