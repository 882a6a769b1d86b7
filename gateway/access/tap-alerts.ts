/**
 * The alerts a decided tap raises: a lost or blocked card used (also when a door controller let it through on a
 * stale card list), and `repeated_denials` for someone trying card after card at one reader.
 */
import type { AccessPointConfig, AccessConfig } from '../../config/access.js';
import type { AlertService } from '../alerts/alerts.js';
import type { Clock } from '../core/clock.js';
import type { Tap } from '../core/taps.js';
import type { CardHolder } from '../people/store.js';
import type { DecisionReason } from './contract.js';
import type { RuleOutcome } from './rules.js';
import { stableName } from '../core/localized-name.js';

/** Refusals that are the customer's business with the canteen, not a security matter. */
const CANTEEN_REFUSALS: ReadonlySet<DecisionReason> = new Set<DecisionReason>([
  'insufficient_funds', 'over_limit', 'over_daily_limit', 'invalid_amount', 'seq_conflict', 'duplicate', 'pin_required', 'pin_wrong', 'pin_locked',
]);

export class TapAlerts {
  private readonly denials = new Map<string, number[]>();

  constructor(
    private readonly alerts: AlertService,
    private readonly clock: Clock,
    private readonly repeatedDenials: AccessConfig['repeatedDenials'],
  ) {}

  /**
   * Runs after the tap is answered, inside its decision: an alert the database refuses (a full disk) is counted and
   * logged (tryRaise), never thrown. Thrown, it made the decision reject: the tap counted as unanswered, a reader's
   * retry of it was answered nothing, and a door controller's grant in a lockdown was not looked into.
   */
  raise(tap: Tap, ap: AccessPointConfig, holder: CardHolder | null, outcome: RuleOutcome, rules: RuleOutcome): void {
    // A controller opened for a card the gateway holds lost or blocked: its card list was late (or edited by hand).
    const lateList = outcome.granted && tap.deviceDecision !== undefined && (rules.reason === 'card_lost' || rules.reason === 'card_blocked');
    if (outcome.granted && !lateList) return;
    const cardReason = lateList ? rules.reason : outcome.reason;
    if (holder && (cardReason === 'card_lost' || cardReason === 'card_blocked')) {
      const lost = cardReason === 'card_lost';
      this.alerts.tryRaise({
        type: lost ? 'card_lost_used' : 'card_blocked_used',
        severity: 'warning',
        source: `reader:${tap.readerId}`,
        message:
          `${lost ? 'Lost' : 'Blocked'} card ${tap.uid} of ${holder.person.name} (${holder.person.externalId}) used at ${stableName(ap.name, ap.id)}` +
          (lateList ? ': the door controller let it through (its card list was not yet updated)' : ''),
        accessPoint: ap.id,
        zone: ap.zone,
        data: { uid: tap.uid, personId: holder.person.id, externalId: holder.person.externalId, readerId: tap.readerId, ...(lateList ? { grantedByDevice: true } : {}) },
        // Repeated tries with the same card fold into one alert; another card is another alert.
        dedupKey: `${lost ? 'card_lost_used' : 'card_blocked_used'}:${tap.uid}`,
      });
    }
    if (outcome.granted) return;
    // Refusals during a lockdown are the lockdown working (it has its own critical alert), not someone trying card
    // after card.
    if (outcome.reason === 'lockdown') return;
    if (ap.kind !== 'canteen' || !CANTEEN_REFUSALS.has(outcome.reason)) {
      this.countDenial(tap.readerId, ap, outcome.reason);
    }
  }

  /** Someone trying card after card, or a card that keeps failing: `repeated_denials` at the reader. */
  countDenial(readerId: string, ap: AccessPointConfig | undefined, reason: DecisionReason | undefined): void {
    const { count, windowS } = this.repeatedDenials;
    const now = this.clock.now();
    const key = ap ? readerId : '(unknown readers)';
    let times = this.denials.get(key);
    if (!times) this.denials.set(key, (times = []));
    times.push(now);
    while (times.length > 0 && times[0]! <= now - windowS * 1000) times.shift();
    if (times.length < count) return;
    times.length = 0;
    this.alerts.tryRaise({
      type: 'repeated_denials',
      severity: 'warning',
      source: `reader:${readerId}`,
      message: `${count} refused taps within ${windowS} s at ${ap ? stableName(ap.name, ap.id) : `reader ${readerId}`}`,
      accessPoint: ap?.id,
      zone: ap?.zone,
      data: { readerId, count, windowS, lastReason: reason ?? 'unknown_reader' },
      dedupKey: `repeated_denials:${readerId}`,
    });
  }
}
