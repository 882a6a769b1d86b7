/**
 * Sales a canteen terminal made by itself while it could not reach the gateway (its local caps and its copy of
 * the blocklist decided), uploaded on `campus/readers/<readerId>/offline` when it can again. This side finds each
 * card's holder and whether the card could be used at the sale's time; the wallet records the batch in one
 * transaction; the answer goes back on `…/offline/result` only after that has committed, so a terminal deletes a
 * batch only once the gateway holds it.
 */
import { Counter } from 'prom-client';
import type { GatewayContext } from '../module/context.js';
import { localDate } from '../core/school-calendar.js';
import type { OfflineUpload } from '../core/taps.js';
import type { CardBlocklist } from '../people/blocklist.js';
import type { Card } from '../people/schema.js';
import type { PeopleStore } from '../people/store.js';
import type { OfflineSale, OfflineSaleResult, OfflineSuspicion, WalletPort } from '../core/wallet-port.js';
import { topics } from '../core/topics.js';

/** A terminal clock this far ahead of ours, or this far behind, is wrong, not a sale at that time. */
const CLOCK_AHEAD_MS = 5 * 60_000;
const CLOCK_BEHIND_MS = 31 * 86_400_000;
/** The terminal's latest online taps an upload is checked against (one read per upload, whatever its size). */
const ONLINE_TAPS_COMPARED = 1000;

/**
 * A terminal numbers every transaction, online or offline, in one series. A sale numbered after (or as) a tap the
 * gateway received online cannot have been made before that tap arrived: a sale that says so carries a clock that
 * went back (a terminal without a battery after a power cut, or a till that set it back on purpose), and its time
 * would land the sale in days whose caps and card status it was never judged by. Times of online taps are the
 * gateway's own; the terminal's clock is allowed CLOCK_AHEAD_MS of error either way.
 */
function madeBeforeEarlierSeq(t: { seq: number; at: number }, online: readonly { seq: number; at: number }[]): boolean {
  const before = online.find((o) => o.seq <= t.seq); // newest first
  return before !== undefined && t.at < before.at - CLOCK_AHEAD_MS;
}

/**
 * `unreadable` and `not_a_canteen_terminal` will not change by sending the same batch again; `no_wallet` and
 * `storage` may.
 */
export type OfflineAnswer =
  | { batch: string | null; accepted: true; results: OfflineSaleResult[]; summary: Record<OfflineSaleResult['outcome'], number> }
  | { batch: string | null; accepted: false; error: 'unreadable' | 'not_a_canteen_terminal' | 'no_wallet' | 'storage'; message: string };

export class OfflineSales {
  private off: (() => void) | undefined;
  private readonly uploads;
  private readonly log;
  private readonly onlineTaps;

  constructor(
    private readonly ctx: GatewayContext,
    private readonly people: PeopleStore,
    private readonly blocklist: CardBlocklist,
    private readonly wallet: WalletPort | null,
  ) {
    this.log = ctx.log.child({ component: 'offline-sales' });
    // Newest first through taps_reader (reader_id, id): ids are time-ordered ULIDs.
    this.onlineTaps = ctx.db.prepare<[string, number], { seq: number; at: number }>(
      'SELECT seq, at FROM taps WHERE reader_id = ? AND seq IS NOT NULL ORDER BY id DESC LIMIT ?',
    );
    this.uploads = new Counter({
      name: 'campus_offline_uploads_total',
      help: 'Offline sale uploads from terminals, by answer (accepted or the error)',
      labelNames: ['answer'],
      registers: [ctx.metrics],
    });
  }

  start(): void {
    this.off = this.ctx.bus.on('offline.received', (upload) => {
      const answer = this.handle(upload);
      this.uploads.inc({ answer: answer.accepted ? 'accepted' : answer.error });
      this.ctx.mqtt.publish(topics.readerOfflineResult(upload.readerId), answer, { qos: 1 }).catch((err: unknown) => {
        this.log.warn({ err, readerId: upload.readerId, batch: upload.batch }, 'offline upload answer not published; the terminal will send it again');
      });
    });
  }

  stop(): void {
    this.off?.();
  }

  handle(upload: OfflineUpload): OfflineAnswer {
    const { readerId, batch } = upload;
    if (upload.unreadable !== undefined) return { batch, accepted: false, error: 'unreadable', message: upload.unreadable };
    const reader = this.ctx.config.readers.find((r) => r.id === readerId);
    const accessPoint = this.ctx.config.access.accessPoints.find((a) => a.id === reader?.accessPoint);
    if (accessPoint?.kind !== 'canteen') {
      return { batch, accepted: false, error: 'not_a_canteen_terminal', message: `reader ${readerId} is not at a canteen access point` };
    }
    if (!this.wallet) return { batch, accepted: false, error: 'no_wallet', message: 'this gateway runs no wallet' };
    const now = this.ctx.clock.now();
    const online = this.onlineTaps.all(readerId, ONLINE_TAPS_COMPARED);
    const sales = upload.transactions.map((t): OfflineSale => {
      const holder = this.people.holderOf(t.uid, t.partial === true);
      const clockWrong = t.at > now + CLOCK_AHEAD_MS || t.at < now - CLOCK_BEHIND_MS || madeBeforeEarlierSeq(t, online);
      return {
        readerId,
        seq: t.seq,
        uid: t.uid,
        personId: holder?.person.id ?? null,
        amountFen: t.amount,
        at: t.at,
        suspicion: clockWrong ? 'terminal_clock' : holder ? this.cardProblemAt(holder.card, t.at) : null,
        tapId: `offline:${batch}`,
      };
    });
    try {
      const results = this.wallet.recordOffline(sales);
      const summary = { applied: 0, duplicate: 0, suspicious: 0 };
      for (const r of results) summary[r.outcome]++;
      this.log.info({ readerId, batch, ...summary }, 'offline sales recorded');
      return { batch, accepted: true, results, summary };
    } catch (err) {
      this.log.error({ err, readerId, batch }, 'offline sales not recorded');
      return { batch, accepted: false, error: 'storage', message: 'not recorded; send the batch again' };
    }
  }

  /**
   * Whether the card could be used at the sale's time: not on the blocklist then (a card reported lost after the
   * sale was fine when it was made; one lost at the time and found before the upload was not), and not expired.
   */
  private cardProblemAt(card: Card, at: number): OfflineSuspicion | null {
    const listed = this.blocklist.statusAt(card.uid, at);
    if (listed) return listed === 'lost' ? 'card_lost' : 'card_blocked';
    const expiredBefore = card.status === 'expired' && Date.parse(card.updatedAt) <= at;
    if (expiredBefore || (card.validTo !== null && localDate(at, this.ctx.config.school.timezone) > card.validTo)) return 'card_expired';
    return null;
  }
}
