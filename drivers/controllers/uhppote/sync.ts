/**
 * Keeps one controller's card list equal to the gateway's plan for it (plan.ts). A full reconciliation reads the
 * controller's whole list (get card at index) and then only writes what differs; afterwards the gateway keeps a
 * mirror of the list, so a change (a card reported lost) costs one request per controller, not a re-read. A card
 * changed while a long reconciliation runs is written at the next step, ahead of everything else, so a lost card
 * leaves every reachable controller within a few requests. A failed request stops the run; the next one (when the
 * controller answers again) is a full reconciliation. A run that failed while the controller kept answering (a refused
 * put, a forged reply) is run again from a later status poll (retryFailed), backing off while it keeps failing: only
 * the writes still to do when the refusal came after the list was read (the controller answered, so the mirror is
 * right), a full reconciliation otherwise. The card requests' replies are checked for a forger in the background
 * (client.ts requestChecked): what a run read or wrote is acted on (the mirror) only once their verdicts are in (settle).
 */
import type { CardRecord, TimeProfile } from './messages.js';
import type { DevicePlan, LeftOutCard } from './plan.js';
import { sameRecord } from './plan.js';
import { DELETED_CARD, NO_CARD } from './responses.js';

/**
 * A reply taken at once and checked in the background (client.ts requestChecked): `genuine` resolves false when a
 * second, different reply came (someone on the LAN answered for the controller), or the client stopped first.
 */
export interface CheckedValue<T> {
  value: T;
  genuine: Promise<boolean>;
}

export interface SyncPort {
  count(): Promise<number>;
  cardAt(index: number): Promise<CheckedValue<CardRecord>>;
  put(record: CardRecord): Promise<CheckedValue<boolean>>;
  delete(card: number): Promise<CheckedValue<boolean>>;
  setProfile(profile: TimeProfile): Promise<CheckedValue<boolean>>;
}

/**
 * A failed run is run again at the first status poll this long after it, doubling with each failure in a row up to
 * RETRY_MAX_MS. Its pending request was dropped with it (a lockdown's cut among them: its doors stayed normally closed
 * to security staff too, until a reconnect or the nightly reconciliation); but a retry may be a full read, thousands
 * of requests that status polls and swipes queue behind, so a controller that keeps failing is not read back to back. The cap
 * is how long security staff may wait, during a lockdown, after the controller takes writes again.
 */
const RETRY_FIRST_MS = 60_000;
const RETRY_MAX_MS = 5 * 60_000;

/**
 * How long after the gateway deleted a card from the controller a granted swipe of it counts as one crossing the delete
 * (removing): a swipe read from the log after a gap, or pushed while the delete was on its way.
 */
const DELETE_CROSSING_MS = 2 * 60_000;

/** What is asked of the sync loop next. */
type Pending = 'none' | 'incremental' | 'full';

/** The controller answered a write "not done": a full card store, or a reply forged in a race with the controller's. */
export class WriteRefusedError extends Error {
  readonly code = 'controller_refused_write';
}

/**
 * Replies to a run's card requests came twice, different (a forger racing the controller): what they said is not
 * believed. A forged read fails the whole read (the next run reads again); a forged write's card is written again.
 */
export class RepliesForgedError extends Error {
  readonly code = 'controller_replies_forged';
  constructor(readonly count: number) {
    super(`two different replies to ${count} card request(s): someone on the controllers' network answered for the controller; not believed`);
    this.name = 'RepliesForgedError';
  }
}

export interface SyncState {
  /** Cards the plan wants that the controller holds as planned. */
  inSync: number;
  /** Writes (puts and deletes) still to do. */
  pending: number;
  /** Cards the plan wants on this controller. */
  planned: number;
  lastFullSync: string | null;
  running: boolean;
  lastError: string | null;
  /** Numbers the plan leaves out because they stand for more than one card (plan.ts). */
  leftOut: readonly LeftOutCard[];
}

export class CardSync {
  /** What the controller holds, as far as the gateway knows; null until a full read. */
  private mirror: Map<number, CardRecord> | null = null;
  private profilesWritten = '';
  private plan: DevicePlan = { cards: new Map(), profiles: [], leftOut: [] };
  private readonly urgent = new Set<number>();
  private running: Promise<void> | undefined;
  private again: Pending = 'none';
  private pendingWrites = 0;
  lastFullSync: string | null;
  private lastError: string | null = null;
  /** Runs finished (or failed) so far: what the controller holds may have changed by the gateway's hand since a count. */
  runs = 0;
  /** Runs failed in a row, and when the last one failed (epoch ms). */
  private failures = 0;
  private failedAt = 0;
  /** A full run is reading the controller's list: the mirror is not what the controller holds until it is done. */
  private reading = false;
  /** Cards the gateway deleted from the controller lately (card → epoch ms), for removing(); pruned as it grows. */
  private readonly deletedAt = new Map<number, number>();
  /** Background checks of the run's card requests not yet in (settle). */
  private checks: Promise<void>[] = [];
  /** What those checks found forged: reads, cards written, a time profile written. */
  private forged = { reads: 0, cards: new Set<number>(), profiles: 0 };

  constructor(
    private readonly port: SyncPort,
    private readonly planNow: () => DevicePlan,
    private readonly now: () => number,
    private readonly onFullSync: (at: string) => void,
    lastFullSync: string | null,
  ) {
    this.lastFullSync = lastFullSync;
  }

  state(): SyncState {
    const planned = this.plan.cards.size;
    let inSync = 0;
    if (this.mirror) for (const [n, r] of this.plan.cards) if (this.mirror.get(n) && sameRecord(this.mirror.get(n)!, r)) inSync++;
    const pending = this.mirror ? this.diff().length : planned;
    return { inSync, pending: this.running ? Math.max(pending, this.pendingWrites) : pending, planned, lastFullSync: this.lastFullSync, running: this.running !== undefined, lastError: this.lastError, leftOut: this.plan.leftOut };
  }

  /** Cards whose desired state changed (card.changed): written first, even in the middle of a full run. */
  changed(cards: Iterable<number>): void {
    for (const c of cards) this.urgent.add(c);
    this.request('incremental');
  }

  /** Forget what the controller holds (it was unreachable; someone may have edited it) and read it again. */
  request(kind: 'incremental' | 'full'): Promise<void> {
    if (kind === 'full' || this.mirror === null) this.again = 'full';
    else if (this.again === 'none') this.again = 'incremental';
    if (!this.running) {
      this.running = this.loop().finally(() => {
        this.running = undefined;
      });
    }
    return this.running;
  }

  /**
   * At a status poll the controller answered: after a failed run, a full run once its back-off is over. Whether one
   * started.
   */
  retryFailed(): boolean {
    if (this.failures === 0 || this.running) return false;
    const since = this.now() - this.failedAt;
    // A clock set back (the gateway's own clock corrected) must not hold the retry off for as long as it moved.
    if (since >= 0 && since < Math.min(RETRY_FIRST_MS * 2 ** (this.failures - 1), RETRY_MAX_MS)) return false;
    void this.request('incremental'); // a full run when the mirror was dropped (request)
    return true;
  }

  /**
   * Whether the gateway is taking the card off the controller, or just did: its delete waits to be written (a change
   * not yet through, a write still to do, a list not read yet), or went within DELETE_CROSSING_MS. A granted swipe of
   * such a card crossed its removal; one of any other card the gateway refuses was put there by someone else.
   * A card the last plan still wants is the gateway's own: refused now, it was taken away by a change the sync has not
   * planned yet (the CLI's erase-person or import-roster beside the running gateway, seen at the next holders-version
   * poll; sync-schedule.ts), and before, its swipe in that window blamed the controllers' network.
   */
  removing(card: number): boolean {
    if (this.urgent.has(card) || this.mirror === null || this.reading || this.plan.cards.has(card)) return true;
    if (this.mirror.has(card) && !this.plan.cards.has(card)) return true;
    const at = this.deletedAt.get(card);
    return at !== undefined && Math.abs(this.now() - at) < DELETE_CROSSING_MS;
  }

  idle(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  private async loop(): Promise<void> {
    while (this.again !== 'none') {
      const full = this.again === 'full' || this.mirror === null;
      this.again = 'none';
      try {
        await this.run(full);
        this.lastError = null;
        this.failures = 0;
      } catch (failed) {
        // The writes sent before the failure have their verdicts coming: a forged one's card is written again.
        let err = failed;
        try {
          await this.settle(this.mirror);
        } catch (forged) {
          err = forged; // a refusal among the replies may be the forger's own
        }
        this.lastError = (err as Error).message;
        this.failures++;
        this.failedAt = this.now();
        // A refusal after the list was read is an answer: the controller holds what the mirror says (the refused write
        // never entered it), so the retry writes only what is left; a card store that stays full was read back in
        // full at every retry, thousands of requests each. Anything else (no answer, a read cut short, a full run
        // asked for meanwhile) leaves it unknown, and the next run reads the controller again.
        // (`again` as declared: set during the run, which the compiler's narrowing from the loop's head does not see.)
        // A forged write's card was marked unknown in the mirror by settle: the retry writes it again.
        const answered = err instanceof WriteRefusedError || err instanceof RepliesForgedError;
        if (!answered || this.reading || (this.again as Pending) === 'full') this.mirror = null;
        this.reading = false;
        this.again = 'none';
        return;
      } finally {
        this.runs++;
      }
    }
  }

  private async run(full: boolean): Promise<void> {
    this.plan = this.planNow();
    if (full) {
      this.profilesWritten = '';
      const read = new Map<number, CardRecord>();
      this.reading = true;
      const n = await this.port.count();
      for (let i = 1; i <= n; i++) {
        await this.writeUrgent(read);
        const r = this.check(await this.port.cardAt(i), () => this.forged.reads++);
        if (r.card === NO_CARD) break;
        if (r.card !== DELETED_CARD && !this.urgentlyWritten.has(r.card)) read.set(r.card, r);
      }
      // Nothing read is acted on before every read's verdict is in (settleMs after the last reply): a forged record,
      // or a forged end of the list, fails the read, and the next run reads the controller again.
      await this.settle(read);
      this.urgentlyWritten.clear();
      this.mirror = read;
      this.reading = false;
    }
    const sig = JSON.stringify(this.plan.profiles);
    if (sig !== this.profilesWritten) {
      for (const p of this.plan.profiles) if (!this.check(await this.port.setProfile(p), () => this.forged.profiles++)) throw new WriteRefusedError(`controller refused time profile ${p.profile}`);
      this.profilesWritten = sig;
    }
    await this.apply();
    // A forged "ok" to a write (a put the controller refused) is found here, at most settleMs after the last write.
    await this.settle(this.mirror);
    if (full) {
      this.lastFullSync = new Date(this.now()).toISOString();
      this.onFullSync(this.lastFullSync);
    }
  }

  /** Cards written during a full read: what the read finds for them afterwards is older than what we wrote. */
  private readonly urgentlyWritten = new Set<number>();

  private async writeUrgent(partialMirror: Map<number, CardRecord> | null): Promise<void> {
    if (this.urgent.size === 0) return;
    this.plan = this.planNow();
    // Deletes first, as in diff(): a put refused (a full card store) must not keep a lost card on the controller.
    const cards = [...this.urgent].sort((x, y) => Number(this.plan.cards.has(x)) - Number(this.plan.cards.has(y)));
    this.urgent.clear();
    for (const c of cards) {
      const want = this.plan.cards.get(c);
      // A refused put is not written: as in apply(), the run stops and the next one reads the controller again. (A
      // refused delete means the controller does not hold the card, which is what was wanted.)
      if (want && !this.check(await this.port.put(want), () => this.forged.cards.add(c))) throw new WriteRefusedError(`controller refused card ${c} (is its card store full?)`);
      if (!want) await this.deleteCard(c);
      if (partialMirror) {
        this.urgentlyWritten.add(c);
        if (want) partialMirror.set(c, want);
        else partialMirror.delete(c);
      }
      if (this.mirror) {
        if (want) this.mirror.set(c, want);
        else this.mirror.delete(c);
      }
    }
  }

  private async deleteCard(card: number): Promise<void> {
    // Its answer is not needed (a refusal means the controller does not hold the card), but a forged one is counted
    // and the card deleted again: two different answers say someone else is answering for this controller.
    this.check(await this.port.delete(card), () => this.forged.cards.add(card));
    if (this.deletedAt.size >= 10_000) {
      const old = this.now() - DELETE_CROSSING_MS;
      for (const [c, at] of this.deletedAt) if (at < old) this.deletedAt.delete(c);
      if (this.deletedAt.size >= 10_000) this.deletedAt.clear(); // a list emptied at once (a lockdown): stays bounded
    }
    this.deletedAt.set(card, this.now());
  }

  /** A reply taken now; its verdict, when it comes, notes a forgery (`onForged`) for settle. */
  private check<T>(c: CheckedValue<T>, onForged: () => void): T {
    this.checks.push(
      c.genuine.then((ok) => {
        if (!ok) onForged();
      }),
    );
    return c.value;
  }

  /**
   * Waits for the verdicts of the requests sent so far (the last came at most settleMs ago). A card whose write was
   * forged is unknown: `mirror` drops it when the plan wants it (put again) and holds it when the plan does not
   * (deleted again); a forged time profile is written again. Throws RepliesForgedError when anything was forged.
   */
  private async settle(mirror: Map<number, CardRecord> | null): Promise<void> {
    while (this.checks.length > 0) await Promise.all(this.checks.splice(0));
    const { reads, cards, profiles } = this.forged;
    if (reads + cards.size + profiles === 0) return;
    this.forged = { reads: 0, cards: new Set(), profiles: 0 };
    for (const c of cards) {
      if (mirror && this.plan.cards.has(c)) mirror.delete(c);
      else if (mirror) mirror.set(c, { card: c, from: '', to: '', doors: [0, 0, 0, 0], pin: 0 });
    }
    if (profiles > 0) this.profilesWritten = '';
    throw new RepliesForgedError(reads + cards.size + profiles);
  }

  /** Writes and deletes to bring the mirror to the plan; deletes first (a lost card must go before new cards come). */
  private diff(): { op: 'put' | 'delete'; card: number }[] {
    const mirror = this.mirror ?? new Map<number, CardRecord>();
    const out: { op: 'put' | 'delete'; card: number }[] = [];
    for (const n of mirror.keys()) if (!this.plan.cards.has(n)) out.push({ op: 'delete', card: n });
    for (const [n, r] of this.plan.cards) {
      const have = mirror.get(n);
      if (!have || !sameRecord(have, r)) out.push({ op: 'put', card: n });
    }
    return out;
  }

  private async apply(): Promise<void> {
    const work = this.diff();
    this.pendingWrites = work.length;
    for (const w of work) {
      if (this.urgent.size > 0) await this.writeUrgent(null);
      const mirror = this.mirror!;
      if (w.op === 'delete') {
        if (!this.plan.cards.has(w.card) && mirror.has(w.card)) {
          await this.deleteCard(w.card);
          mirror.delete(w.card);
        }
      } else {
        const want = this.plan.cards.get(w.card);
        if (want && !(mirror.get(w.card) && sameRecord(mirror.get(w.card)!, want))) {
          if (!this.check(await this.port.put(want), () => this.forged.cards.add(w.card))) throw new WriteRefusedError(`controller refused card ${w.card} (is its card store full?)`);
          mirror.set(w.card, want);
        }
      }
      this.pendingWrites--;
    }
    if (this.urgent.size > 0) await this.writeUrgent(null);
    this.pendingWrites = 0;
  }
}
