/**
 * Cloud sync to the city command center: the module the composition root creates. It owns the outbox, the
 * transport chosen from cloud.upstreamUrl (or the demo city sink), the sender that drains the outbox, the
 * city's commands, and the periodic streams (heartbeat, attendance, environment).
 */
import { createPublicKey } from 'node:crypto';
import type { Router } from 'express';
import { Counter, Gauge } from 'prom-client';
import { insecureUpstream, type CloudConfig } from '../config/cloud.js';
import type { ComponentHealth, GatewayContext, GatewayModule } from '../gateway/module/context.js';
import type { Guards } from '../gateway/http/guards.js';
import { packageInfo } from '../gateway/core/version.js';
import { schemaVersion, type Migration } from '../gateway/storage/db.js';
import { CommandProcessor, commandMigrations } from './commands.js';
import { DEMO_ONLY_COMMAND_KID, DEMO_ONLY_COMMAND_PRIVATE_KEY } from './demo-command-key.js';
import { CommandKeyRing, loadPrivateKey } from './signing.js';
import { CONTRACT_VERSION, streamSchema, type HeartbeatData, type Stream } from './contract.js';
import { Outbox, outboxMigrations, type OutboxStats } from './outbox.js';
import type { PlacesPort, SyncPorts } from './ports.js';
import { alertMessageType, alertOccurredAt, toAlertData } from './privacy.js';
import { syncRoutes } from './routes.js';
import { PeriodicStreams } from './schedules.js';
import { Sender } from './sender.js';
import { DemoSinkTransport } from './transports/demo-sink.js';
import { chooseTransport } from './transports/choose.js';
import type { Transport, TransportKind } from './transports/types.js';

export const cloudSyncMigrations: Migration[] = [...outboxMigrations, ...commandMigrations];

export interface SyncStatus {
  enabled: boolean;
  transport: TransportKind;
  upstream: string | null;
  connected: boolean;
  lastSuccessAt: string | null;
  lastError: { message: string; at: string } | null;
  retryAt: string | null;
  backlog: Record<Stream, number>;
  backlogTotal: number;
  backlogBytes: number;
  maxBytes: number;
  dropped: OutboxStats['dropped'];
  /** Rows the upstream refused with a 4xx: parked in cloud_parked, not retried. */
  rejected: number;
  inflight: number;
  sentTotal: number;
  commands: { executed: number; ignored: CommandProcessor['ignoredCounts']; rejected: CommandProcessor['rejectedCounts']; keys: number };
}

export interface CloudSyncOptions {
  /** How often the periodic streams check what is due (tests shorten it). */
  scheduleTickMs?: number;
}

export function topicFor(cfg: CloudConfig, districtId: string, schoolId: string, stream: string): string {
  return cfg.topicTemplate.replaceAll('{districtId}', districtId).replaceAll('{schoolId}', schoolId).replaceAll('{stream}', stream);
}

export class CloudSync implements GatewayModule {
  readonly name = 'cloud-sync';
  readonly schoolId: string;
  readonly outbox: Outbox;
  readonly transport: Transport;
  private readonly sender: Sender;
  private readonly commands: CommandProcessor;
  private readonly periodic: PeriodicStreams;
  private readonly cfg: CloudConfig;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly startedAt: number;
  private readonly keyCount: number;
  /** Why the upstream link is insecure (allowed by cloud.allowInsecure), or empty. */
  private readonly insecurity: string[];

  constructor(
    private readonly ctx: GatewayContext,
    private readonly ports: SyncPorts = {},
    private readonly opts: CloudSyncOptions = {},
  ) {
    const cfg = (this.cfg = ctx.config.cloud);
    const { school } = ctx.config;
    this.schoolId = school.id;
    const log = ctx.log.child({ component: 'cloud-sync' });
    this.startedAt = ctx.clock.now();
    this.insecurity = cfg.enabled ? insecureUpstream(cfg).map((p) => `cloud.${p.path.join('.')}: ${p.message}`) : [];
    if (this.insecurity.length > 0) log.warn({ problems: this.insecurity }, 'insecure upstream allowed by cloud.allowInsecure');
    const topic = (stream: string): string => topicFor(cfg, school.districtId, school.id, stream);

    const dropped = new Counter({
      name: 'campus_sync_dropped_total',
      help: 'Outbox rows dropped unsent, by stream and reason (expired = stream TTL, overflow = byte cap)',
      labelNames: ['stream', 'reason'],
      registers: [ctx.metrics],
    });
    const streams = streamSchema.options;
    this.outbox = new Outbox(ctx.db, {
      schoolId: school.id,
      maxBytes: cfg.outboxMaxBytes,
      priority: Object.fromEntries(streams.map((s) => [s, cfg.streams[s].priority])) as Record<Stream, number>,
      ttlMs: Object.fromEntries(streams.map((s) => [s, cfg.streams[s].ttlH * 3_600_000])) as Record<Stream, number>,
      onDrop: (reason, stream, rows) => {
        dropped.inc({ stream, reason }, rows);
        log.warn({ stream, reason, rows }, 'dropped unsent city messages');
      },
    });
    this.transport = chooseTransport(this.cfg, { schoolId: ctx.config.school.id, demo: ctx.demo, now: () => ctx.clock.now(), topic, log });

    const sent = new Counter({ name: 'campus_sync_sent_total', help: 'Envelopes confirmed by the upstream', labelNames: ['stream'], registers: [ctx.metrics] });
    const failures = new Counter({ name: 'campus_sync_send_failures_total', help: 'Failed sends (retried)', registers: [ctx.metrics] });
    const rejected = new Counter({ name: 'campus_sync_rejected_total', help: 'Envelopes the upstream refused (4xx), parked at the school', registers: [ctx.metrics] });
    this.sender = new Sender(this.outbox, this.transport, {
      pageSize: cfg.pageSize,
      bandwidthBytesPerS: cfg.bandwidthBytesPerS,
      backoff: cfg.backoff,
      now: () => ctx.clock.now(),
      onSent: (stream, n) => sent.inc({ stream }, n),
      onFailure: (error) => {
        failures.inc();
        log.debug({ error }, 'send failed; will retry');
      },
      onRejected: (rows, status, error) => {
        rejected.inc(rows);
        log.warn({ rows, status, error }, 'the city refused envelopes; parked them in cloud_parked');
      },
    });
    const outbox = this.outbox;
    const sender = this.sender;
    new Gauge({
      name: 'campus_sync_backlog',
      help: 'Outbox rows waiting, by stream',
      labelNames: ['stream'],
      registers: [ctx.metrics],
      collect() {
        for (const s of streams) this.set({ stream: s }, outbox.depthOf(s));
      },
    });
    new Gauge({
      name: 'campus_sync_backlog_bytes',
      help: 'Outbox bytes waiting',
      registers: [ctx.metrics],
      collect() {
        this.set(outbox.stats().bytes);
      },
    });
    const transport = this.transport;
    new Gauge({
      name: 'campus_sync_connected',
      help: '1 while the upstream link is up',
      registers: [ctx.metrics],
      collect() {
        this.set(transport.connected() ? 1 : 0);
      },
    });

    const keyRing = new CommandKeyRing(cfg.commandKeys);
    this.keyCount = keyRing.size;
    // The demo sink exists only in demo mode without an upstream; its key is trusted for its commands alone.
    const demoPrivate = this.transport instanceof DemoSinkTransport ? loadPrivateKey(DEMO_ONLY_COMMAND_PRIVATE_KEY) : undefined;
    this.commands = new CommandProcessor({
      db: ctx.db,
      outbox,
      alerts: ctx.alerts,
      clock: ctx.clock,
      log,
      metrics: ctx.metrics,
      schoolId: school.id,
      cards: ports.cards,
      lockdown: ports.lockdown,
      identifying: cfg.identifying.commandResults,
      onResult: () => sender.wake(true),
      acceptedOrigins: new Set(['mqtt', 'https', 'demo']),
      keys: (kid) => keyRing.get(kid),
      demoKey: demoPrivate ? { kid: DEMO_ONLY_COMMAND_KID, key: createPublicKey(demoPrivate) } : undefined,
      maxAgeS: cfg.commandMaxAgeS,
    });
    if (cfg.enabled && this.transport.kind !== 'demo' && this.transport.kind !== 'none' && keyRing.size === 0) {
      log.warn('no cloud.commandKeys configured: every command from the city will be rejected (unknown_key)');
    }
    this.periodic = new PeriodicStreams({
      db: ctx.db,
      outbox,
      clock: ctx.clock,
      log,
      timezone: school.timezone,
      attendance: ports.attendance,
      environment: ports.environment,
      identifyingAttendance: cfg.identifying.attendance,
      attendanceIntervalMin: cfg.attendanceIntervalMin,
      dayStart: cfg.attendanceDayStart,
      endOfDayAt: cfg.endOfDayAt,
      onEnqueued: () => sender.wake(),
    });

    if (cfg.enabled) {
      // The outbox row commits or rolls back with the alert change itself.
      const disclosure = {
        identifying: cfg.identifying.alerts,
        places: ports.places ?? ((): ReturnType<PlacesPort> => ({ accessPoints: new Set(), zones: new Set() })),
        clips: cfg.identifying.clips,
        snapshotPath: (id: string): string => `/api/v1/snapshots/${encodeURIComponent(id)}`,
        clipPath: (id: string): string => `/api/v1/clips/${encodeURIComponent(id)}`,
      };
      ctx.alerts.onChangeInTx((change) => {
        const now = ctx.clock.now();
        const data = toAlertData(change.alert, disclosure);
        outbox.enqueue(alertMessageType(change.change), data, alertOccurredAt(change, now), now);
        sender.wake(true);
      });
    }
  }

  start(): void {
    if (!this.cfg.enabled) return;
    this.commands.recoverInterrupted();
    this.housekeeping();
    this.transport.start({
      onUp: () => this.sender.onUp(),
      onDown: (error) => this.sender.onDown(error),
      onCommand: (payload, origin) => void this.commands.handle(payload, origin),
    });
    this.sender.start();
    this.enqueueHeartbeat();
    const every = (ms: number, fn: () => void): void => {
      const t = setInterval(fn, ms);
      t.unref();
      this.timers.push(t);
    };
    every(this.cfg.heartbeatIntervalS * 1000, () => this.enqueueHeartbeat());
    every(this.cfg.housekeepingS * 1000, () => this.housekeeping());
    every(this.opts.scheduleTickMs ?? 15_000, () => void this.periodic.tick());
    void this.periodic.tick();
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
    this.sender.stop();
    await this.transport.stop();
  }

  private housekeeping(): void {
    // Command results the database refused (a full disk) go as soon as it takes them again.
    this.commands.retryPending();
    try {
      this.outbox.expire(this.ctx.clock.now());
      this.outbox.enforceCap();
    } catch (err) {
      this.ctx.log.error({ err }, 'cloud outbox housekeeping failed');
    }
  }

  heartbeatData(): HeartbeatData {
    const now = this.ctx.clock.now();
    // Recount now and then: cheap next to a heartbeat interval, and it corrects any drift of the running totals.
    this.outbox.reconcile();
    const stats = this.outbox.stats();
    const health = this.ports.health?.report() ?? { status: 'ok' as const, components: {} };
    const s = this.sender.status();
    return {
      status: health.status,
      // The contract's component shape (ok, detail, warning); a disabled one says so in its detail.
      components: Object.fromEntries(
        Object.entries(health.components).map(([name, c]) => [
          name,
          { ok: c.ok, ...(c.detail !== undefined ? { detail: c.detail } : {}), ...(c.warning !== undefined ? { warning: c.warning } : {}) },
        ]),
      ),
      uptimeS: Math.max(0, Math.round((now - this.startedAt) / 1000)),
      versions: { gateway: packageInfo().version, dbSchema: schemaVersion(this.ctx.db), contract: CONTRACT_VERSION, node: process.version },
      clock: { gatewayTime: new Date(now).toISOString(), timezone: this.ctx.config.school.timezone },
      outbox: { depth: stats.depth, bytes: stats.bytes, maxBytes: stats.maxBytes },
      dropped: { expired: stats.dropped.expired, overflow: stats.dropped.overflow, rejected: stats.parked },
      transport: {
        kind: this.transport.kind === 'none' ? 'demo' : this.transport.kind,
        lastSuccessAt: s.lastSuccessAt === null ? null : new Date(s.lastSuccessAt).toISOString(),
        lastError: s.lastError?.message ?? null,
        insecure: this.insecurity.length > 0,
      },
    };
  }

  private enqueueHeartbeat(): void {
    try {
      const now = this.ctx.clock.now();
      this.outbox.enqueue('heartbeat', this.heartbeatData(), now, now);
      this.sender.wake();
    } catch (err) {
      this.ctx.log.error({ err }, 'heartbeat failed');
    }
  }

  status(): SyncStatus {
    const stats = this.outbox.stats();
    const s = this.sender.status();
    const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
    return {
      enabled: this.cfg.enabled,
      transport: this.transport.kind,
      upstream: this.transport.kind === 'none' ? null : this.transport.target,
      connected: this.transport.connected(),
      lastSuccessAt: iso(s.lastSuccessAt),
      lastError: s.lastError ? { message: s.lastError.message, at: new Date(s.lastError.at).toISOString() } : null,
      // The sender's wait after a refused send, or the link's next connection attempt while it is down.
      retryAt: iso(s.retryAt ?? this.transport.nextAttemptAt?.() ?? null),
      backlog: stats.depth,
      backlogTotal: this.outbox.total(),
      backlogBytes: stats.bytes,
      maxBytes: stats.maxBytes,
      dropped: stats.dropped,
      rejected: stats.parked,
      inflight: s.inflight,
      sentTotal: s.sentTotal,
      commands: {
        executed: this.commands.executedCount,
        ignored: { ...this.commands.ignoredCounts },
        rejected: { ...this.commands.rejectedCounts },
        keys: this.keyCount,
      },
    };
  }

  /** The city's clock minus the gateway's (ms), from the HTTP Date header of its answers; null over MQTT or when not known. */
  upstreamClockOffsetMs(): number | null {
    return this.transport.upstreamClockOffsetMs?.() ?? null;
  }

  /** Whether the city's clock comes over a verified link (see the transport's). */
  upstreamClockVerified(): boolean {
    return this.transport.upstreamClockVerified?.() ?? false;
  }

  /** The demo city sink, when that is the transport. */
  demoSink(): DemoSinkTransport | undefined {
    return this.transport instanceof DemoSinkTransport ? this.transport : undefined;
  }

  routes(api: Router, guards: Guards): void {
    syncRoutes(api, guards, this);
  }

  health(): ComponentHealth {
    if (!this.cfg.enabled) return { ok: true, disabled: true, detail: 'disabled: cloud.enabled is false in the config', code: 'sync_disabled' };
    const stats = this.outbox.stats();
    const full = stats.bytes / stats.maxBytes;
    const connected = this.transport.connected();
    const link = connected ? 'connected' : `not connected (${this.transport.kind})`;
    const backlog = this.outbox.total();
    const percent = Math.round(full * 100);
    // An uplink outage is normal for a school; the gateway is degraded only when it is about to drop data.
    return {
      ok: full < 0.9,
      detail: `${link}; backlog ${backlog} (${percent}% of cap)`,
      code: connected ? 'sync_connected' : 'sync_not_connected',
      params: connected ? { backlog, percent } : { backlog, percent, transport: this.transport.kind },
      ...(this.insecurity.length > 0 ? { warning: `insecure upstream (cloud.allowInsecure): ${this.insecurity.join('; ')}` } : {}),
    };
  }
}
