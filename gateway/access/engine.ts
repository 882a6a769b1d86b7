/**
 * From `tap.received` to an answer on the reader: look the card up, apply the rules, debit the wallet for a
 * canteen payment, store the tap with its decision (awaited: durable before acknowledged), then publish the
 * decision, the gate command and `tap.decided`, and raise alerts.
 *
 * Everything on the path is an in-memory index (readers, access points, anti-passback, lockdown) or a
 * prepared statement on a primary key, so a decision costs well under a millisecond before the commit.
 */
import { randomBytes } from 'node:crypto';
import { monotonicFactory } from 'ulid';
import { Counter, Histogram } from 'prom-client';
import type { AccessPointConfig } from '../../config/access.js';
import type { ReaderConfig } from '../../config/readers.js';
import { doorReaderId } from '../../config/controllers.js';
import type { GatewayContext } from '../module/context.js';
import type { DeviceDecision, Tap } from '../core/taps.js';
import type { CardHolder, PeopleStore } from '../people/store.js';
import type { WriteOp } from '../storage/batch-writer.js';
import type { WalletPort } from '../core/wallet-port.js';
import type { PersonRef } from '../people/types.js';
import type { DecisionReason, TapDecision, TapWrite } from './contract.js';
import type { LockdownService } from './lockdown.js';
import { RetriedTaps } from './retried-taps.js';
import { applyRules, notIssued, offLockdownList, openToStudents, type RuleOutcome } from './rules.js';
import { SchoolClock } from './school-time.js';
import type { TapRecord, TapsStore } from './taps-store.js';
import { TapAlerts } from './tap-alerts.js';
import { isStorageFailure } from '../storage/deferred-writes.js';
import { MetricFactory } from '../core/metrics.js';
import { topics } from '../core/topics.js';
import { InFlight } from '../core/in-flight.js';

/**
 * What the engine needs of the gateway, and no more: a test (or another host) creates it with a database file, a
 * broker and an alert service, without the HTTP server, users or the other domains.
 */
export type AccessEngineContext = Pick<GatewayContext, 'config' | 'log' | 'clock' | 'writer' | 'bus' | 'mqtt' | 'alerts' | 'metrics' | 'deferred'>;

/** The wallet as access uses it; `balanceOf` (optional) lets an identification tap at the canteen show the balance. */
export type AccessWallet = WalletPort & { balanceOf?(personId: number): number | null | Promise<number | null> };

/** What goes back to the reader on `campus/readers/<readerId>/decision`. */
export interface DecisionMessage {
  granted: boolean;
  reason: DecisionReason;
  tapId: string;
  person: { name: string; class: string | null } | null;
  balance?: number;
}

interface ReaderBinding {
  reader: Pick<ReaderConfig, 'id' | 'direction'>;
  accessPoint: AccessPointConfig;
  gateId: string | undefined;
}

const refOf = (h: CardHolder | null): PersonRef | null =>
  h
    ? {
        id: h.person.id,
        externalId: h.person.externalId,
        name: h.person.name,
        role: h.person.role,
        grade: h.person.grade,
        class: h.person.class,
        scheduleGroup: h.person.scheduleGroup,
      }
    : null;

/**
 * ulid's default generator asks the OS for one random byte per character (about 0.1 ms per id on a busy
 * Raspberry-class CPU); the same bytes taken from a 4 KiB pool cost nothing on the tap path.
 */
function pooledRandom(): () => number {
  let pool = randomBytes(4096);
  let i = 0;
  return () => {
    if (i >= pool.length) {
      pool = randomBytes(4096);
      i = 0;
    }
    return pool[i++]! / 256;
  };
}

export class AccessEngine {
  private readonly ulid = monotonicFactory(pooledRandom());
  private readonly readers = new Map<string, ReaderBinding>();
  private readonly schoolClock: SchoolClock;
  /** gateId → personId → last granted pass at that gate (school-local date and direction). */
  private readonly passback = new Map<string, Map<number, { date: string; direction: 'in' | 'out' }>>();
  private readonly retried = new RetriedTaps<DecisionMessage>(() => this.ctx.clock.now());
  private readonly tapAlerts: TapAlerts;
  private readonly tapWrites: TapWrite[] = [];
  private readonly log;
  private readonly tapsCounter;
  private readonly tapCounts = new Map<string, Counter.Internal>();
  private readonly decisionSeconds;
  private readonly failures;
  private off: (() => void) | undefined;
  /** Taps being decided: stop() lets them finish, stored and answered, before the database closes. */
  private readonly deciding = new InFlight();
  private lastUnknownReaderLog = 0;

  constructor(
    private readonly ctx: AccessEngineContext,
    private readonly people: PeopleStore,
    private readonly taps: TapsStore,
    private readonly lockdown: LockdownService,
    private readonly wallet: AccessWallet | null,
  ) {
    this.log = ctx.log.child({ component: 'access' });
    this.schoolClock = new SchoolClock(ctx.config.school.timezone);
    this.tapAlerts = new TapAlerts(ctx.alerts, ctx.clock, ctx.config.access.repeatedDenials);
    const aps = new Map(ctx.config.access.accessPoints.map((ap) => [ap.id, ap]));
    for (const reader of ctx.config.readers) {
      const accessPoint = aps.get(reader.accessPoint);
      if (!accessPoint) {
        this.log.warn({ readerId: reader.id, accessPoint: reader.accessPoint }, 'reader bound to an access point that is not configured; its taps are refused');
        continue;
      }
      this.readers.set(reader.id, { reader, accessPoint, gateId: accessPoint.kind === 'gate' ? (accessPoint.gateId ?? accessPoint.id) : undefined });
    }
    // Each wired door of a door controller is a reader too (`<deviceId>-door<N>`, drivers/controllers).
    for (const device of ctx.config.controllers.devices) {
      for (const [n, door] of Object.entries(device.doors)) {
        const accessPoint = door && aps.get(door.accessPoint);
        if (!door || !accessPoint) continue;
        const reader = { id: doorReaderId(device.id, n), direction: door.direction };
        this.readers.set(reader.id, { reader, accessPoint, gateId: accessPoint.kind === 'gate' ? (accessPoint.gateId ?? accessPoint.id) : undefined });
      }
    }
    const m = new MetricFactory(ctx.metrics);
    this.tapsCounter = m.counter('campus_taps_total', 'Taps decided, by outcome and reason', ['granted', 'reason']);
    this.decisionSeconds = new Histogram({
      name: 'campus_tap_decision_seconds',
      help: 'From tap.received to the decision published, including the durable write',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.25],
      registers: [ctx.metrics],
    });
    this.failures = m.counter('campus_tap_failures_total', 'Taps that got no answer because storing them or debiting failed');
  }

  start(): void {
    this.off = this.ctx.bus.on('tap.received', (tap) => {
      void this.deciding.track(
        this.handle(tap).catch((err: unknown) => {
          this.failures.inc();
          this.log.error({ err, readerId: tap.readerId }, 'tap not answered');
        }),
      );
    });
  }

  /**
   * Takes no new tap, then waits for those being decided (a PIN checked off the event loop, a batched write): the
   * database closes right after the modules stop, and a decision left running was lost ("tap not answered", the
   * payment on a closed connection). The readers and door controllers stop before this (compose.ts), so no tap
   * comes meanwhile; the broker is still up, so the readers get their answers.
   */
  async stop(): Promise<void> {
    this.off?.();
    this.off = undefined;
    await this.deciding.idle();
  }

  /** Whether some student may pass the access point at a moment by its timetable (see `openToStudents`). */
  openToStudents(accessPointId: string, at: number): boolean {
    const ap = this.ctx.config.access.accessPoints.find((a) => a.id === accessPointId);
    const { calendar, scheduleGroups } = this.ctx.config.access;
    return !ap || openToStudents(ap, this.schoolClock.local(at), calendar, scheduleGroups.map((g) => g.id));
  }

  /** Adds a write to every decided tap's transaction (see TapWrite). */
  writeWithTaps(w: TapWrite): void {
    this.tapWrites.push(w);
  }

  /** Decides one tap and answers the reader. Resolves with the message sent (null when none could be sent). */
  async handle(tap: Tap): Promise<DecisionMessage | null> {
    const started = performance.now();
    // Only configured readers are remembered, so made-up reader ids cannot grow these maps.
    const known = this.readers.has(tap.readerId);
    // No spread of the tap here (see below): the seq goes alongside.
    const seq = known ? tap.seq : undefined;
    const first = seq === undefined ? undefined : this.retried.answerOf(tap, seq);
    if (first) {
      const message = await first;
      if (message) this.publishDecision(tap.readerId, message);
      return message;
    }
    const pending = this.decide(tap);
    if (seq !== undefined) this.retried.remember(tap, seq, pending);
    const message = await pending;
    this.decisionSeconds.observe((performance.now() - started) / 1000);
    return message;
  }

  private async decide(tap: Tap): Promise<DecisionMessage | null> {
    const tapId = this.ulid(this.ctx.clock.now());
    const binding = this.readers.get(tap.readerId);
    if (!binding) return this.refuseUnknownReader(tap, tapId);
    const { accessPoint: ap, reader, gateId } = binding;
    const direction = ap.kind === 'gate' ? reader.direction : undefined;
    const local = this.schoolClock.local(tap.at);
    // Decimal-printing readers mark their taps `partial` (drivers/rfid Tap): the uid is only the low bytes.
    const holder = this.people.holderOf(tap.uid, tap.partial === true);

    let lastDirectionToday: 'in' | 'out' | undefined;
    if (holder && gateId && ap.antiPassback && direction) lastDirectionToday = this.lastPass(gateId, holder.person.id, local.date);

    const rules: RuleOutcome = applyRules({
      holder, accessPoint: ap, direction, local, calendar: this.ctx.config.access.calendar, lockdown: this.lockdown.active,
      lastDirectionToday,
    });
    // A deciding device (door controller) already let the person through or not: record what it did.
    let outcome: RuleOutcome = tap.deviceDecision ? deviceOutcome(tap.deviceDecision, rules) : rules;
    // Recorded before any await, so a second tap racing this one already sees the pass.
    if (outcome.granted && holder && gateId && ap.antiPassback && direction) {
      this.passbackOf(gateId).set(holder.person.id, { date: local.date, direction });
    }

    let balance: number | undefined;
    if (outcome.granted && holder && ap.kind === 'canteen' && !tap.deviceDecision) {
      try {
        ({ outcome, balance } = await this.canteen(tap, tapId, holder, outcome));
      } catch (err) {
        // No durable ledger, no sale: the terminal is told, unlike a gate, which is answered from memory below.
        if (!isStorageFailure(err)) throw err;
        this.log.error({ err, readerId: tap.readerId }, 'canteen payment refused: the database cannot write');
        outcome = { granted: false, reason: 'storage_unavailable' };
      }
    }

    const record: TapRecord = {
      id: tapId, at: tap.at, readerId: tap.readerId, uid: tap.uid, seq: tap.seq ?? null, amount: tap.amount ?? null,
      accessPoint: ap.id, direction: direction ?? null, gateId: gateId ?? null, personId: holder?.person.id ?? null,
      granted: outcome.granted, reason: outcome.reason, balance: balance ?? null,
    };
    const decided: TapDecision = {
      readerId: tap.readerId, uid: tap.uid, at: tap.at, seq: tap.seq, amount: tap.amount, partial: tap.partial,
      deviceDecision: tap.deviceDecision, backfilled: tap.backfilled, tapId, accessPointId: ap.id, accessPointKind: ap.kind, direction, gateId,
      granted: outcome.granted, reason: outcome.reason, person: refOf(holder), balance,
    };
    const op = this.recordOp(record, decided);
    try {
      await this.ctx.writer.write(op);
    } catch (err) {
      // Disk full or failing: the decision stands and the row waits in memory (bounded, counted) for the disk.
      if (!isStorageFailure(err) || !this.ctx.deferred) throw err;
      this.ctx.deferred.keep(op);
    }

    // Flat literals, no spreads, on this path. With the event built as `{...tap, ...(x ? {x} : {})}` the gateway
    // moved ~2 KB per tap into the old space (--trace-gc-nvp: ~150 KB per scavenge, ~20 KB without), so at
    // 1,000 taps/s a full GC came every ~1.6 s and held the taps up for 20-30 ms each time.
    // Absent optional fields are `undefined`, which JSON leaves out.
    const message: DecisionMessage = {
      granted: outcome.granted,
      reason: outcome.reason,
      tapId,
      person: holder ? { name: holder.person.name, class: holder.person.class } : null,
      balance,
    };
    this.publishDecision(tap.readerId, message);
    if (outcome.granted && gateId && !tap.deviceDecision) {
      this.publish(topics.gateCommand(gateId), { action: 'open', gateId, readerId: tap.readerId, direction, tapId, at: tap.at });
    }
    this.countTap(outcome.granted, outcome.reason);
    this.ctx.bus.emit('tap.decided', decided);
    this.tapAlerts.raise(tap, ap, holder, outcome, rules);
    if (outcome.granted && tap.deviceDecision) {
      if (this.lockdown.active && offLockdownList(ap, rules)) this.lockdownOverruled(tap, tapId);
      // Outside a lockdown too: a card put on a controller from the LAN opened its gate until the nightly
      // reconciliation (an attacker review, 2026-12-07). The driver reads the controller's list again.
      else if (!this.lockdown.active && notIssued(rules)) {
        this.ctx.bus.emit('tap.card_not_issued', { readerId: tap.readerId, uid: tap.uid, at: tap.at, seq: tap.seq, tapId, reason: rules.reason });
      }
    }
    return message;
  }

  /**
   * A door controller let through, during a lockdown, a card with no place on the lockdown's list (one the lockdown
   * refuses, or an unknown, lost or blocked one: offLockdownList): its card list is not the lockdown's. A card deleted
   * and another put in its place keeps the controller's card count, and the swapped-in card opened a locked-down door
   * until the nightly reconciliation (an attacker review, 2026-12-07); this consequence is what shows it, and the
   * controller's driver reads the list again (core/taps.ts). A swipe from before the lockdown began, read back after a
   * gap, was decided by the list of its time: by the device's clock, unless the device numbers its log (seq), whose
   * driver judges by that. A controller's clock is anyone's to set on the LAN: one set-time packet a day back just
   * before the swipe, and a swapped-in card's grant read as from before the lockdown, and stayed.
   */
  private lockdownOverruled(tap: Tap, tapId: string): void {
    if (!this.lockdown.active) return; // the last lockdown's start stays in its state after it ended
    const startedAt = this.lockdown.state().startedAt;
    const since = startedAt === null ? Number.NaN : Date.parse(startedAt);
    if (tap.seq === undefined && !(tap.at >= since)) return;
    this.ctx.bus.emit('tap.lockdown_overruled', { readerId: tap.readerId, uid: tap.uid, at: tap.at, ...(tap.seq === undefined ? {} : { seq: tap.seq }), tapId, lockdownSince: since });
  }

  /** The tap's row and the rows other domains keep for it, as one transaction. */
  private recordOp(record: TapRecord, decided: TapDecision): WriteOp {
    const insert = this.taps.insertOp(record);
    let more: WriteOp[] | undefined;
    for (const w of this.tapWrites) {
      const op = w(decided);
      if (op) (more ??= []).push(op);
    }
    if (!more) return insert;
    const ops = more;
    return (db) => {
      insert(db);
      for (const op of ops) op(db);
    };
  }

  /** A payment when the tap carries an amount; otherwise an identification that shows the balance. */
  private async canteen(tap: Tap, tapId: string, holder: CardHolder, ok: RuleOutcome): Promise<{ outcome: RuleOutcome; balance?: number }> {
    if (tap.amount === undefined) {
      const balance = this.wallet?.balanceOf ? await this.wallet.balanceOf(holder.person.id) : null;
      return { outcome: ok, ...(balance !== null && balance !== undefined ? { balance } : {}) };
    }
    if (!this.wallet) {
      this.log.error({ readerId: tap.readerId }, 'canteen payment with no wallet configured');
      return { outcome: { granted: false, reason: 'invalid_amount' } };
    }
    if (tap.seq === undefined) {
      // Without the terminal's sequence number a retried payment could not be told from a new one.
      return { outcome: { granted: false, reason: 'invalid_amount' } };
    }
    // A bad amount goes to the wallet too: it refuses it and remembers the refusal under (reader, seq), so that
    // number cannot be used again to charge, and reconciliation counts it.
    const r = await this.wallet.debit({
      personId: holder.person.id, readerId: tap.readerId, seq: tap.seq, amountFen: tap.amount, at: tap.at, tapId, pin: tap.pin,
    });
    if (r.ok) return { outcome: { granted: true, reason: r.duplicate ? 'duplicate' : 'ok' }, balance: r.balance };
    return { outcome: { granted: false, reason: r.reason }, balance: r.balance };
  }

  private async refuseUnknownReader(tap: Tap, tapId: string): Promise<DecisionMessage> {
    const now = this.ctx.clock.now();
    if (now - this.lastUnknownReaderLog > 60_000) {
      this.lastUnknownReaderLog = now;
      this.log.warn({ readerId: tap.readerId }, 'tap from a reader that is not configured (logged once a minute)');
    }
    await this.ctx.writer.write(
      this.taps.insertOp({
        id: tapId, at: tap.at, readerId: tap.readerId, uid: tap.uid, seq: tap.seq ?? null, amount: tap.amount ?? null,
        accessPoint: null, direction: null, gateId: null, personId: null, granted: false, reason: 'unknown_reader', balance: null,
      }),
    );
    const message: DecisionMessage = { granted: false, reason: 'unknown_reader', tapId, person: null };
    this.publishDecision(tap.readerId, message);
    this.countTap(false, 'unknown_reader');
    this.tapAlerts.countDenial(tap.readerId, undefined, undefined);
    return message;
  }

  /** Label children kept: prom-client hashes the label object on every inc() otherwise. */
  private countTap(granted: boolean, reason: DecisionReason): void {
    const key = `${granted}:${reason}`;
    let child = this.tapCounts.get(key);
    if (!child) this.tapCounts.set(key, (child = this.tapsCounter.labels(String(granted), reason)));
    child.inc();
  }

  private passbackOf(gateId: string): Map<number, { date: string; direction: 'in' | 'out' }> {
    let m = this.passback.get(gateId);
    if (!m) this.passback.set(gateId, (m = new Map()));
    return m;
  }

  /** Today's last granted direction at the gate; the store is asked only once per person after a restart. */
  private lastPass(gateId: string, personId: number, today: string): 'in' | 'out' | undefined {
    const m = this.passbackOf(gateId);
    let entry = m.get(personId);
    if (!entry) {
      const row = this.taps.lastGrantedAtGate(personId, gateId);
      entry = { date: row?.direction ? this.schoolClock.local(row.at).date : '', direction: row?.direction ?? 'out' };
      m.set(personId, entry);
    }
    // The state resets at local midnight: yesterday's unmatched "in" (left by another gate) does not lock anyone out.
    return entry.date === today ? entry.direction : undefined;
  }

  private publishDecision(readerId: string, message: DecisionMessage): void {
    this.publish(topics.readerDecision(readerId), message);
  }

  private publish(topic: string, payload: object): void {
    this.ctx.mqtt.publish(topic, payload, { qos: 1 }).catch((err: unknown) => this.log.warn({ err, topic }, 'publish failed'));
  }

}

/** What a deciding device did, with the gateway's more precise reason when both refused. */
function deviceOutcome(d: DeviceDecision, rules: RuleOutcome): RuleOutcome {
  if (d.granted) return { granted: true, reason: 'ok' };
  if (!rules.granted) return rules;
  return { granted: false, reason: d.denial ?? 'device_denied' };
}
