/**
 * Outside a lockdown, a controller let through a card the gateway never gave it (the access domain's
 * tap.card_not_issued: an unknown, lost or blocked card). The protocol has no authentication: a card put on a
 * controller from the LAN opened its gate until the nightly reconciliation (an attacker review, 2026-12-07). Its first
 * granted swipe shows it: the controller's card list is read again in full (the sync's full run, as a lockdown's
 * relist asks for it), which takes the card off within seconds, and controller_card_not_issued is raised (a warning,
 * one per controller and school day, counted). A card the gateway is taking off that controller, or just took off (its
 * delete and the swipe crossed: sync.ts removing), is read again too, without the alert.
 *
 * At most one such read a minute per controller: someone putting a card at every poll must not hold the controller in
 * back-to-back full reads (thousands of requests each, which status polls and swipes queue behind). Those within the
 * minute are counted, and one read follows at the first status poll after it (polled).
 *
 * A read held back when a lockdown begins is the lockdown's to take (takeOwed): its cut reads the list in full instead
 * of writing only what changed, so a card put from the LAN goes with the cut. Run at the minute's end instead, it was an
 * extra full read during the lockdown, the doors normally closed to security staff while it lasted (lockdown.ts check),
 * and the card it was owed for stayed on the locked-down list until then. During a lockdown nothing is read from here.
 */
import { doorReaderId } from '../../../config/controllers.js';
import type { AccessPointConfig } from '../../../config/access.js';
import type { CardNotIssued } from '../../../gateway/core/taps.js';
import type { MetricFactory } from '../../../gateway/core/metrics.js';
import { localTime } from '../../../gateway/core/school-calendar.js';
import { stableName } from '../../../gateway/core/localized-name.js';
import type { GatewayContext } from '../../../gateway/module/context.js';
import type { DeviceRuntime } from './device.js';
import { cardOfKey } from './plan.js';

/** At most one full read a controller for cards it should not hold, per this long. */
export const REREAD_EVERY_MS = 60_000;

export interface CardsNotIssuedDeps {
  alerts: Pick<GatewayContext['alerts'], 'tryRaise'>;
  aps: ReadonlyMap<string, AccessPointConfig>;
  timeZone: string;
  now: () => number;
  log: { warn(o: object, m: string): void };
  metrics: MetricFactory;
  lockdownActive: () => boolean;
}

export class CardsNotIssued {
  /** When each controller's list was last read again for such a card (epoch ms). */
  private readonly lastRead = new Map<string, number>();
  /** Controllers with such a swipe since their last read again, held back by the minute. */
  private readonly owed = new Set<string>();

  /** Each granted swipe of such a card: the read started (`reread`), or left for the minute's end (`held`). */
  private readonly counted: ReturnType<MetricFactory['counter']>;

  constructor(private readonly d: CardsNotIssuedDeps) {
    this.counted = d.metrics.counter(
      'campus_controller_cards_not_issued_total',
      'Granted swipes of cards the gateway did not give the controller, by what followed (reread; held: within the minute; lockdown: a held read taken into a lockdown\'s cut)',
      ['controller', 'outcome'],
    );
  }

  /** A controller's grant the gateway's own rules refuse as a card it never issued (tap.card_not_issued). */
  granted(dev: DeviceRuntime | undefined, tap: CardNotIssued): void {
    if (!dev) return;
    const card = cardOfKey(tap.uid, dev.config.cardNumber);
    const crossing = card !== null && dev.sync.removing(card);
    if (!crossing) this.raise(dev, tap);
    this.reread(dev, { uid: tap.uid, reason: tap.reason, readerId: tap.readerId, crossing });
  }

  /** At each status poll the controller answered: a read held back by the minute runs once the minute is over. */
  polled(dev: DeviceRuntime): void {
    if (this.owed.has(dev.id) && this.due(dev.id) && !this.d.lockdownActive()) this.reread(dev, { held: true });
  }

  /**
   * A lockdown begins on the controller: whether a read was held back for it, now the lockdown's (its cut reads the list
   * in full). Counted `lockdown`.
   */
  takeOwed(dev: DeviceRuntime): boolean {
    if (!this.owed.delete(dev.id)) return false;
    this.lastRead.set(dev.id, this.d.now());
    this.counted.inc({ controller: dev.id, outcome: 'lockdown' });
    return true;
  }

  private due(deviceId: string): boolean {
    const last = this.lastRead.get(deviceId);
    const since = this.d.now() - (last ?? 0);
    // A clock set back (the gateway's own, corrected) must not hold the read off for as long as it moved.
    return last === undefined || since < 0 || since >= REREAD_EVERY_MS;
  }

  private reread(dev: DeviceRuntime, fields: object): void {
    if (!this.due(dev.id)) {
      this.owed.add(dev.id);
      this.counted.inc({ controller: dev.id, outcome: 'held' });
      return;
    }
    this.owed.delete(dev.id);
    this.lastRead.set(dev.id, this.d.now());
    this.counted.inc({ controller: dev.id, outcome: 'reread' });
    this.d.log.warn({ controller: dev.id, ...fields }, "controller let through a card the gateway did not give it: its card list is not the gateway's; reading it again");
    void dev.sync.request('full');
  }

  private raise(dev: DeviceRuntime, tap: CardNotIssued): void {
    const door = Object.entries(dev.config.doors).find(([n]) => doorReaderId(dev.id, n) === tap.readerId)?.[1];
    const ap = door ? this.d.aps.get(door.accessPoint) : undefined;
    const where = stableName(ap?.name, tap.readerId);
    const day = localTime(this.d.now(), this.d.timeZone).date;
    // Not thrown (a full disk): raised from a bus listener, and the read again must go on.
    this.d.alerts.tryRaise({
      type: 'controller_card_not_issued', severity: 'warning', source: `controller:${dev.id}`, accessPoint: ap?.id, zone: ap?.zone,
      dedupKey: `controller_card_not_issued:${dev.id}:${day}`,
      message: `Door controller ${dev.id} let a card the gateway did not give it through at ${where} (${tap.reason.replace('_', ' ')}): someone on the controllers' network put it there; reading its card list again`,
      data: { controller: dev.id, readerId: tap.readerId, uid: tap.uid, reason: tap.reason, tapId: tap.tapId },
    });
  }
}
