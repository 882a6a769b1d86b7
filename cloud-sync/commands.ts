/**
 * Commands from the city: validated, executed at most once per command id (ids are persisted before the
 * command runs), one at a time in arrival order, with the result sent back on `command-results` in the same
 * transaction that records it. Anything malformed, for another school, from an unexpected topic or already
 * seen is ignored, counted and logged (rate-limited).
 */
import { Counter, type Registry } from 'prom-client';
import type { AlertService } from '../gateway/alerts/alerts.js';
import type { Clock } from '../gateway/core/clock.js';
import { GatewayError } from '../gateway/core/errors.js';
import type { Logger } from '../gateway/core/logger.js';
import { packageInfo } from '../gateway/core/version.js';
import type { Database, Migration } from '../gateway/storage/db.js';
import { commandSchema, type Command, type CommandResultData } from './contract.js';
import type { Outbox } from './outbox.js';
import type { CardCommandsPort, LockdownPort } from './ports.js';

export const commandMigrations: Migration[] = [
  {
    version: 52,
    name: 'cloud commands',
    up: `
      CREATE TABLE cloud_commands (
        id TEXT PRIMARY KEY,
        type TEXT NOT NULL,
        origin TEXT NOT NULL,
        status TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        completed_at INTEGER,
        result_envelope_id TEXT
      );`,
  },
];

export type IgnoredReason = 'malformed' | 'elsewhere' | 'duplicate';

export interface CommandDeps {
  db: Database;
  outbox: Outbox;
  alerts: AlertService;
  clock: Clock;
  log: Logger;
  metrics: Registry;
  schoolId: string;
  cards?: CardCommandsPort | undefined;
  lockdown?: LockdownPort | undefined;
  /** Whether the result may echo the person's external id. */
  identifying: boolean;
  /** Called after a result row is committed, so the sender picks it up. */
  onResult: () => void;
  /** Origins accepted as the city (the commands topic, the HTTPS poll, the demo sink). */
  acceptedOrigins: ReadonlySet<string>;
}

class Failure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** At most one warning per reason per interval, with how many were suppressed. */
class RateLimitedLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();
  constructor(
    private readonly log: Logger,
    private readonly intervalMs = 10_000,
  ) {}
  warn(key: string, obj: object, msg: string): void {
    const now = Date.now();
    const s = this.last.get(key);
    if (s && now - s.at < this.intervalMs) {
      s.suppressed++;
      return;
    }
    this.log.warn({ ...obj, suppressed: s?.suppressed ?? 0 }, msg);
    this.last.set(key, { at: now, suppressed: 0 });
  }
}

export class CommandProcessor {
  private chain: Promise<void> = Promise.resolve();
  private readonly executed: Counter<'type' | 'status'>;
  private readonly ignored: Counter<'reason'>;
  private readonly limited: RateLimitedLog;
  readonly ignoredCounts: Record<IgnoredReason, number> = { malformed: 0, elsewhere: 0, duplicate: 0 };
  executedCount = 0;
  private readonly stmts;

  constructor(private readonly d: CommandDeps) {
    this.executed = new Counter({
      name: 'campus_sync_commands_total',
      help: 'City commands executed, by type and result status',
      labelNames: ['type', 'status'],
      registers: [d.metrics],
    });
    this.ignored = new Counter({
      name: 'campus_sync_commands_ignored_total',
      help: 'Messages on the command channel that were not executed (malformed, for another school or origin, duplicate id)',
      labelNames: ['reason'],
      registers: [d.metrics],
    });
    this.limited = new RateLimitedLog(d.log);
    this.stmts = {
      claim: d.db.prepare(`INSERT OR IGNORE INTO cloud_commands (id, type, origin, status, received_at) VALUES (?, ?, ?, 'executing', ?)`),
      finish: d.db.prepare('UPDATE cloud_commands SET status = ?, completed_at = ?, result_envelope_id = ? WHERE id = ?'),
      interrupted: d.db.prepare(`SELECT id, type, received_at FROM cloud_commands WHERE status = 'executing'`),
    };
  }

  /**
   * Commands that were running when the gateway died: they may or may not have taken effect, and are not run
   * again (at most once); the city is told they were interrupted.
   */
  recoverInterrupted(): void {
    const rows = this.stmts.interrupted.all() as { id: string; type: string; received_at: number }[];
    for (const r of rows) {
      this.finish(r.id, r.type, r.received_at, { status: 'interrupted', error: { code: 'interrupted', message: 'the gateway restarted while running it; check its effect' } });
    }
  }

  /** Takes a raw message; never throws. Resolves when this message has been dealt with. */
  handle(payload: Buffer | string, origin: string): Promise<void> {
    const run = this.chain.then(() => this.process(payload, origin));
    this.chain = run.catch(() => {});
    return this.chain;
  }

  private ignore(reason: IgnoredReason, detail: object, msg: string): void {
    this.ignored.inc({ reason });
    this.ignoredCounts[reason]++;
    if (reason === 'duplicate') this.d.log.debug(detail, msg);
    else this.limited.warn(reason, detail, msg);
  }

  private async process(payload: Buffer | string, origin: string): Promise<void> {
    if (!this.d.acceptedOrigins.has(origin)) {
      this.ignore('elsewhere', { origin }, 'ignored a command from an unexpected origin');
      return;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
    } catch {
      this.ignore('malformed', { origin, bytes: payload.length }, 'ignored a command that is not JSON');
      return;
    }
    const parsed = commandSchema.safeParse(raw);
    if (!parsed.success) {
      const problems = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
      this.ignore('malformed', { origin, problems }, 'ignored an invalid command');
      return;
    }
    const cmd = parsed.data;
    if (cmd.schoolId !== this.d.schoolId) {
      this.ignore('elsewhere', { origin, schoolId: cmd.schoolId, commandId: cmd.id }, 'ignored a command for another school');
      return;
    }
    const receivedAt = this.d.clock.now();
    if (this.stmts.claim.run(cmd.id, cmd.type, origin, receivedAt).changes === 0) {
      this.ignore('duplicate', { origin, commandId: cmd.id }, 'command already executed');
      return;
    }
    if (cmd.expiresAt && Date.parse(cmd.expiresAt) < receivedAt) {
      this.finish(cmd.id, cmd.type, receivedAt, { status: 'expired', error: { code: 'expired', message: `expired at ${cmd.expiresAt}` } });
      return;
    }
    this.d.log.info({ commandId: cmd.id, type: cmd.type, origin }, 'executing a city command');
    try {
      const detail = await this.execute(cmd);
      this.finish(cmd.id, cmd.type, receivedAt, { status: 'ok', detail });
    } catch (err) {
      const code = err instanceof Failure || err instanceof GatewayError ? err.code : 'internal';
      const message = err instanceof Error ? err.message : String(err);
      this.d.log.warn({ commandId: cmd.id, type: cmd.type, code, error: message }, 'city command failed');
      this.finish(cmd.id, cmd.type, receivedAt, { status: 'failed', error: { code, message } });
    }
  }

  private async execute(cmd: Command): Promise<CommandResultData['detail']> {
    const by = 'city';
    switch (cmd.type) {
      case 'ping':
        return { gatewayTime: new Date(this.d.clock.now()).toISOString(), version: packageInfo().version };
      case 'alert.ack': {
        const a = this.d.alerts.acknowledge(cmd.params.alertId, by, cmd.params.note);
        return { alertId: a.id, status: a.status };
      }
      case 'card.block':
      case 'card.unblock': {
        const cards = this.d.cards;
        if (!cards) throw new Failure('unavailable', 'this gateway has no card module');
        const r =
          cmd.type === 'card.block'
            ? await cards.blockCard(cmd.params.externalId, cmd.params.reason, by)
            : await cards.unblockCard(cmd.params.externalId, cmd.params.reason, by);
        return { cards: r.cards, ...(this.d.identifying ? { externalId: cmd.params.externalId } : {}) };
      }
      case 'lockdown.start':
      case 'lockdown.end': {
        const l = this.d.lockdown;
        if (!l) throw new Failure('unavailable', 'this gateway has no access module');
        if (cmd.type === 'lockdown.start') await l.startLockdown(by, cmd.params.reason);
        else await l.endLockdown(by, cmd.params.reason);
        return { lockdown: l.active() };
      }
    }
  }

  private finish(id: string, type: string, receivedAt: number, r: Pick<CommandResultData, 'status' | 'error' | 'detail'>): void {
    const now = this.d.clock.now();
    const data: CommandResultData = {
      commandId: id,
      commandType: type,
      status: r.status,
      ...(r.error ? { error: r.error } : {}),
      ...(r.detail ? { detail: r.detail } : {}),
      receivedAt: new Date(receivedAt).toISOString(),
      completedAt: new Date(now).toISOString(),
    };
    this.d.db.transaction(() => {
      const envelopeId = this.d.outbox.enqueue('command.result', data, now, now);
      this.stmts.finish.run(r.status, now, envelopeId, id);
    })();
    this.executed.inc({ type, status: r.status });
    this.executedCount++;
    this.d.onResult();
  }
}
