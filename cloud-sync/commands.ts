/**
 * Commands from the city. Anyone who can publish on the city broker (or answer the HTTPS poll) can put bytes on
 * this channel, so nothing in a command is believed before its Ed25519 signature verifies with a configured city
 * key (cloud-sync/signing.ts). A command runs only when it is signed, fresh (`issuedAt` within
 * cloud.commandMaxAgeS, at most 60 s ahead), not expired and its id is new; ids are persisted before the command
 * runs, so it runs at most once, across restarts too. Commands run one at a time in arrival order, and the result
 * goes back on `command-results` in the same transaction that records it. What each type does is
 * command-actions.ts's.
 *
 * A command the gateway could not carry out because the database refused a write (a full disk) is never dropped in
 * silence: refused its id, it does not run (running it would break at-most-once after a restart) and is answered
 * `failed` with code `storage_unavailable`; a result the database refuses is kept in memory (bounded, the results of
 * commands that ran first: pending-results.ts) and written at the next command or the outbox's next housekeeping, in
 * order. Each is logged (rate-limited) and counted.
 *
 * Not executed: a command failing those checks is `rejected` with a reason, counted, logged (rate-limited) and
 * raises a `city_command_rejected` alert. Anything malformed, for another school or from an unexpected topic is
 * ignored, counted and logged (rate-limited), with no result.
 */
import type { KeyObject } from 'node:crypto';
import type { Counter, Registry } from 'prom-client';
import type { Logger } from '../gateway/core/logger.js';
import type { Database, Migration } from '../gateway/storage/db.js';
import { executeCommand, failureCode, type CommandActionDeps } from './command-actions.js';
import { commandRejectReasons, commandSchema, type CommandRejectReason, type CommandResultData } from './contract.js';
import type { Outbox } from './outbox.js';
import { PendingResults } from './pending-results.js';
import { signatureProblem } from './signing.js';
import { MetricFactory } from '../gateway/core/metrics.js';
import { RateLimitedLog } from '../gateway/core/rate-limited-log.js';

/** A command is a few hundred bytes; anything past this is not parsed. */
export const MAX_COMMAND_BYTES = 64 * 1024;
/** How far ahead of the gateway's clock `issuedAt` may be (clock skew between city and school). */
export const MAX_FUTURE_MS = 60_000;
/**
 * Rejections answered (a result and an alert raise) per minute. Past it a flood of forged commands is only
 * counted and logged, so it cannot fill the outbox and push attendance or heartbeats out of it.
 */
export const REJECTIONS_ANSWERED_PER_MIN = 60;

/**
 * Answers the database refused, kept in memory for the next try; past it the results of commands that ran are kept
 * over the answers of commands that did not run, and what is dropped is counted and logged (pending-results.ts).
 */
export const MAX_PENDING_RESULTS = 100;

export type IgnoredReason = 'malformed' | 'elsewhere';

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

/** With what running a command needs (command-actions.ts: the alerts, the card and lockdown ports). */
export interface CommandDeps extends CommandActionDeps {
  db: Database;
  outbox: Outbox;
  log: Logger;
  metrics: Registry;
  schoolId: string;
  /** Called after a result row is committed, so the sender picks it up. */
  onResult: () => void;
  /** Origins accepted as the city (the commands topic, the HTTPS poll, the demo sink). */
  acceptedOrigins: ReadonlySet<string>;
  /** The city's keys by kid (cloud.commandKeys). */
  keys: (kid: string) => KeyObject | undefined;
  /** Demo mode only: the demo key, trusted for commands of origin `demo` (the in-process sink) and nothing else. */
  demoKey?: { kid: string; key: KeyObject } | undefined;
  /** cloud.commandMaxAgeS. */
  maxAgeS: number;
}

const TYPE_CODE = /^[A-Za-z0-9_.:-]{1,64}$/;
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A result to record. `claimed` when the command's id row exists (and its status is to be set); otherwise (the
 * database refused the claim) the id is recorded with the result, so that the same signed bytes, replayed or
 * redelivered once the disk takes writes, are a duplicate and do not run after the city was told they failed.
 */
interface Answer {
  id: string;
  type: string;
  origin: string;
  receivedAt: number;
  claimed: boolean;
  result: Pick<CommandResultData, 'status' | 'error' | 'detail'>;
}

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export class CommandProcessor {
  private chain: Promise<void> = Promise.resolve();
  private readonly executed: Counter<'type' | 'status'>;
  private readonly ignored: Counter<'reason'>;
  private readonly rejected: Counter<'reason'>;
  private readonly unanswered: Counter<'type'>;
  /** Results the database refused, oldest first (see MAX_PENDING_RESULTS). */
  private readonly pending: PendingResults<Answer>;
  private readonly limited: RateLimitedLog;
  private answered = { windowStart: 0, n: 0 };
  readonly ignoredCounts: Record<IgnoredReason, number> = { malformed: 0, elsewhere: 0 };
  readonly rejectedCounts = Object.fromEntries(commandRejectReasons.map((r) => [r, 0])) as Record<CommandRejectReason, number>;
  executedCount = 0;
  private readonly stmts;

  constructor(private readonly d: CommandDeps) {
    const m = new MetricFactory(d.metrics);
    this.executed = m.counter('campus_sync_commands_total', 'City commands executed, by type and result status', ['type', 'status']);
    this.ignored = m.counter('campus_sync_commands_ignored_total', 'Messages on the command channel ignored without a result (malformed, for another school or origin)', ['reason']);
    this.rejected = m.counter('campus_sync_commands_rejected_total', 'City commands not executed, by reason (unsigned, bad_signature, unknown_key, stale, future, expired, duplicate)', ['reason']);
    for (const reason of commandRejectReasons) this.rejected.inc({ reason }, 0);
    this.unanswered = m.counter(
      'campus_sync_commands_unanswered_total',
      'City commands whose result (or rejection) the database refused to record, by type; a kept result goes later',
      ['type'],
    );
    this.pending = new PendingResults(d.metrics, MAX_PENDING_RESULTS);
    // At most one warning per reason per 10 s, with how many were held back.
    this.limited = new RateLimitedLog(d.log, Date.now, 10_000);
    this.stmts = {
      claim: d.db.prepare(`INSERT OR IGNORE INTO cloud_commands (id, type, origin, status, received_at) VALUES (?, ?, ?, 'executing', ?)`),
      finish: d.db.prepare('UPDATE cloud_commands SET status = ?, completed_at = ?, result_envelope_id = ? WHERE id = ?'),
      interrupted: d.db.prepare(`SELECT id, type, origin, received_at FROM cloud_commands WHERE status = 'executing'`),
    };
  }

  /**
   * Commands that were running when the gateway died: they may or may not have taken effect, and are not run
   * again (at most once); the city is told they were interrupted.
   */
  recoverInterrupted(): void {
    const rows = this.stmts.interrupted.all() as { id: string; type: string; origin: string; received_at: number }[];
    // Through answer(): refused (a full disk), it is kept for later; thrown, it stopped the city sync's start, and the
    // gateway's with it.
    for (const r of rows) {
      this.answer({ id: r.id, type: r.type, origin: r.origin, receivedAt: r.received_at, claimed: true, result: { status: 'interrupted', error: { code: 'interrupted', message: 'the gateway restarted while running it; check its effect' } } });
    }
  }

  /** Takes a raw message; never throws. Resolves when this message has been dealt with. */
  handle(payload: Buffer | string, origin: string): Promise<void> {
    const run = this.chain.then(() => {
      // Kept results first, so that results still leave in the order the commands came.
      this.retryPending();
      return this.process(payload, origin);
    });
    // process() answers what it can itself; anything left is a fault of the gateway's own, still never silent.
    this.chain = run.catch((err: unknown) => {
      this.unanswered.inc({ type: 'unknown' });
      this.limited.error('process', { origin, error: messageOf(err) }, 'a message on the city command channel could not be dealt with');
    });
    return this.chain;
  }

  /**
   * Writes the results the database refused before, oldest first, stopping at the first it refuses again. Called
   * before each command and by the outbox's housekeeping; never throws.
   */
  retryPending(): void {
    this.pending.flush(
      (a) => this.finish(a),
      (a) => this.d.log.info({ commandId: a.id, type: a.type, status: a.result.status }, 'recorded the result of a city command the database had refused'),
    );
  }

  private ignore(reason: IgnoredReason, detail: Record<string, unknown>, msg: string): void {
    this.ignored.inc({ reason });
    this.ignoredCounts[reason]++;
    this.limited.warn(reason, detail, msg);
  }

  private keyFor(kid: string, origin: string): KeyObject | undefined {
    const demo = this.d.demoKey;
    if (origin === 'demo' && demo && kid === demo.kid) return demo.key;
    return this.d.keys(kid);
  }

  /** Not executed: counted, logged, and (within the per-minute budget) answered with a result and an alert. */
  /** `answer` false: counted and logged only (a replay whose first answer has not been written yet). */
  private reject(id: string, type: string, origin: string, receivedAt: number, reason: CommandRejectReason, message: string, answer = true): void {
    this.rejected.inc({ reason });
    this.rejectedCounts[reason]++;
    this.limited.warn(`rejected:${reason}`, { origin, commandId: id, type, reason, why: message }, 'rejected a city command');
    if (!answer) return;
    const now = this.d.clock.now();
    if (now - this.answered.windowStart >= 60_000) this.answered = { windowStart: now, n: 0 };
    if (++this.answered.n > REJECTIONS_ANSWERED_PER_MIN) return;
    try {
      this.d.db.transaction(() => {
        this.enqueueResult(id, type, receivedAt, { status: 'rejected', reason, error: { code: reason, message } });
        this.d.alerts.raise({
          type: 'city_command_rejected',
          severity: 'warning',
          source: 'city',
          message: `a ${type} command (id ${JSON.stringify(id)}) on the city channel was not executed: ${reason} (${message})`,
          data: { reason, commandType: type, origin },
          dedupKey: `city_command_rejected:${reason}`,
        });
      })();
    } catch (err) {
      // Not kept for later, unlike a result: nothing ran, and a flood of forged commands must not fill the memory.
      this.unanswered.inc({ type });
      this.limited.error(`unanswered-rejection:${reason}`, { origin, commandId: id, type, reason, error: messageOf(err) }, 'a rejected city command could not be answered: the database refused the write');
      return;
    }
    this.d.onResult();
  }

  private async process(payload: Buffer | string, origin: string): Promise<void> {
    if (!this.d.acceptedOrigins.has(origin)) {
      this.ignore('elsewhere', { origin }, 'ignored a command from an unexpected origin');
      return;
    }
    const bytes = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
    if (bytes > MAX_COMMAND_BYTES) {
      this.ignore('malformed', { origin, bytes }, `ignored a command of more than ${MAX_COMMAND_BYTES} bytes`);
      return;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
    } catch {
      this.ignore('malformed', { origin, bytes }, 'ignored a command that is not JSON');
      return;
    }
    // Without an id there is nothing to answer to.
    if (!isRecord(raw) || typeof raw.id !== 'string' || raw.id.length < 1 || raw.id.length > 128) {
      this.ignore('malformed', { origin, bytes }, 'ignored a command without an id');
      return;
    }
    const id = raw.id;
    const type = typeof raw.type === 'string' && TYPE_CODE.test(raw.type) ? raw.type : 'unknown';
    const receivedAt = this.d.clock.now();

    const problem = signatureProblem(raw, (kid) => this.keyFor(kid, origin));
    if (problem) {
      const why = {
        unsigned: 'no signature (kid and sig)',
        unknown_key: `no configured key has kid ${JSON.stringify(String(raw.kid ?? '')).slice(0, 80)}`,
        bad_signature: 'the signature does not verify',
      }[problem];
      this.reject(id, type, origin, receivedAt, problem, why);
      return;
    }
    const parsed = commandSchema.safeParse(raw);
    if (!parsed.success) {
      const problems = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
      this.ignore('malformed', { origin, commandId: id, problems }, 'ignored an invalid command');
      return;
    }
    const cmd = parsed.data;
    if (cmd.schoolId !== this.d.schoolId) {
      this.ignore('elsewhere', { origin, schoolId: cmd.schoolId, commandId: cmd.id }, 'ignored a command for another school');
      return;
    }
    const issuedAt = Date.parse(cmd.issuedAt);
    const maxAgeMs = this.d.maxAgeS * 1000;
    if (receivedAt - issuedAt > maxAgeMs) {
      this.reject(id, type, origin, receivedAt, 'stale', `issued ${Math.round((receivedAt - issuedAt) / 1000)} s ago; the limit is ${this.d.maxAgeS} s`);
      return;
    }
    if (issuedAt - receivedAt > MAX_FUTURE_MS) {
      this.reject(id, type, origin, receivedAt, 'future', `issued ${Math.round((issuedAt - receivedAt) / 1000)} s ahead of the gateway clock; the limit is ${MAX_FUTURE_MS / 1000} s`);
      return;
    }
    if (cmd.expiresAt && Date.parse(cmd.expiresAt) < receivedAt) {
      this.reject(id, type, origin, receivedAt, 'expired', `expired at ${cmd.expiresAt}`);
      return;
    }
    // Only a verified, fresh command claims its id: a forged one cannot burn the id of a real one. One whose answer
    // waits in memory (its id with it, the database refusing both) is a duplicate as well: answered `failed` again at
    // each replay of its signed bytes, the copies filled the memory kept for results, and the results of commands
    // that ran were dropped after them (the city never told they ran). Not answered: its first answer, still to be
    // written, is the city's, and a "duplicate" must not reach the city ahead of it.
    if (this.pending.has(cmd.id)) {
      this.reject(id, type, origin, receivedAt, 'duplicate', 'this command id was already received; its answer waits for the database', false);
      return;
    }
    let claimed: boolean;
    try {
      claimed = this.stmts.claim.run(cmd.id, cmd.type, origin, receivedAt).changes > 0;
    } catch (err) {
      // Not run: at most once rests on the stored id, and one not stored could run again after a restart.
      const message = `the gateway could not record the command, so did not run it: ${messageOf(err)}`;
      this.notCarriedOut(cmd.id, cmd.type, 'storage_unavailable', message);
      this.answer({ id: cmd.id, type: cmd.type, origin, receivedAt, claimed: false, result: { status: 'failed', error: { code: 'storage_unavailable', message } } });
      return;
    }
    if (!claimed) {
      this.reject(id, type, origin, receivedAt, 'duplicate', 'this command id was already received');
      return;
    }
    this.d.log.info({ commandId: cmd.id, type: cmd.type, origin }, 'executing a city command');
    let result: Answer['result'];
    try {
      result = { status: 'ok', detail: await executeCommand(cmd, this.d) };
    } catch (err) {
      const code = failureCode(err);
      const message = messageOf(err);
      this.notCarriedOut(cmd.id, cmd.type, code, message);
      result = { status: 'failed', error: { code, message } };
    }
    // Apart from running it: a command that ran is answered `ok` even when its first answer is refused.
    this.answer({ id: cmd.id, type: cmd.type, origin, receivedAt, claimed: true, result });
  }

  private notCarriedOut(commandId: string, type: string, code: string, error: string): void {
    this.limited.warn(`failed:${type}:${code}`, { commandId, type, code, error }, 'city command not carried out');
  }

  /** Records the result; one the database refuses is kept for retryPending, logged and counted. */
  private answer(a: Answer): void {
    try {
      // Behind results still waiting, so that the city gets them in the order the commands came.
      this.retryPending();
      if (this.pending.length > 0) throw new Error(`${this.pending.length} earlier results still wait for the database`);
      this.finish(a);
      return;
    } catch (err) {
      this.unanswered.inc({ type: a.type });
      const dropped = this.pending.keep(a);
      this.limited.error(
        'unanswered',
        { commandId: a.id, type: a.type, status: a.result.status, kept: dropped !== a, waiting: this.pending.length, dropped: dropped?.id, error: messageOf(err) },
        dropped === a
          ? 'the result of a city command could not be recorded, and too many wait already: the city gets none'
          : dropped
            ? 'the result of a city command could not be recorded: kept in memory in place of the answer of one that did not run (`dropped`: the city gets none, and may send it again)'
            : 'the result of a city command could not be recorded: kept in memory and tried again',
      );
    }
  }

  private enqueueResult(id: string, type: string, receivedAt: number, r: Pick<CommandResultData, 'status' | 'reason' | 'error' | 'detail'>): string {
    const now = this.d.clock.now();
    const data: CommandResultData = {
      commandId: id,
      commandType: type,
      status: r.status,
      ...(r.reason ? { reason: r.reason } : {}),
      ...(r.error ? { error: r.error } : {}),
      ...(r.detail ? { detail: r.detail } : {}),
      receivedAt: new Date(receivedAt).toISOString(),
      completedAt: new Date(now).toISOString(),
    };
    return this.d.outbox.enqueue('command.result', data, now, now);
  }

  /** The result and the command's status in one transaction; throws when the database refuses it. */
  private finish(a: Answer): void {
    const now = this.d.clock.now();
    this.d.db.transaction(() => {
      const envelopeId = this.enqueueResult(a.id, a.type, a.receivedAt, a.result);
      const claimed = a.claimed || this.stmts.claim.run(a.id, a.type, a.origin, a.receivedAt).changes > 0;
      if (claimed) this.stmts.finish.run(a.result.status, now, envelopeId, a.id);
    })();
    this.executed.inc({ type: a.type, status: a.result.status });
    this.executedCount++;
    this.d.onResult();
  }
}
