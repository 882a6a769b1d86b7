/**
 * Card numbers a controller's plan leaves out (plan.ts: each stands for more than one card), said once per change, not
 * at every sync: IT has to reissue one card of each. An alert, not only a log line: the child is refused at these doors
 * while the gateway's own readers let them in, so nobody at the school would otherwise notice.
 */
import type { ControllerDeviceConfig } from '../../../config/controllers.js';
import type { GatewayContext } from '../../../gateway/module/context.js';
import type { LeftOutCard } from './plan.js';

/** Left-out card numbers listed in the log and the API (the count is always whole). */
export const LEFT_OUT_SHOWN = 50;

export interface LeftOutAlertsDeps {
  alerts: Pick<GatewayContext['alerts'], 'tryRaise' | 'tryResolveByKey'>;
  log: { warn(o: object, m: string): void };
}

export class LeftOutAlerts {
  /** What was said last for each controller (its left-out numbers and reasons). */
  private readonly said = new Map<string, string>();
  /**
   * The left-out cards whose alert (or its resolve, for none) the database refused (a full disk), by controller: raised
   * (resolved) again at each status poll until the write succeeds (polled). Marked said all the same, the alert was never raised, and a child stayed refused
   * at these doors with nobody told (nothing replans a list that does not change).
   */
  private readonly owed = new Map<string, { device: ControllerDeviceConfig; leftOut: readonly LeftOutCard[] }>();

  constructor(private readonly d: LeftOutAlertsDeps) {}

  /** A plan made for a controller (its leftOut): raised or resolved when it changed. */
  planned(device: ControllerDeviceConfig, leftOut: readonly LeftOutCard[]): void {
    const said = leftOut.map((c) => `${c.card}:${c.reason}`).join();
    if (said === this.said.get(device.id)) return;
    this.said.set(device.id, said);
    const again = this.owed.delete(device.id); // logged when first refused
    const key = `controller_cards_left_out:${device.id}`;
    if (leftOut.length === 0) {
      // Also after a restart, when this process never raised it (mended meanwhile); nothing open, nothing done. Not
      // thrown (a full disk): it runs inside the sync's plan, which a throw failed. Refused, it is owed like a raise:
      // nothing replans a list that does not change, and the alert stayed open for good.
      if (this.d.alerts.tryResolveByKey(key, 'gateway', 'no card number on this controller stands for two cards any more')) return;
      this.said.delete(device.id);
      this.owed.set(device.id, { device, leftOut });
      return;
    }
    const message = `${leftOut.length} card number(s) left off door controller ${device.id}: each stands for more than one card, so its doors refuse them; reissue one card of each (GET /api/v1/controllers names them)`;
    if (!again) this.d.log.warn({ controller: device.id, cardNumber: device.cardNumber, cards: leftOut.slice(0, LEFT_OUT_SHOWN) }, message);
    // No numbers in the alert: alerts reach every role, the event stream and the MQTT mirror, and the numbers are
    // enough to clone a card. The controllers API gives them to admin and security.
    const raised = this.d.alerts.tryRaise({
      type: 'controller_cards_left_out', severity: 'warning', source: `controller:${device.id}`, dedupKey: key, message,
      data: { controller: device.id, cardNumber: device.cardNumber, count: leftOut.length },
    });
    if (raised) return;
    this.said.delete(device.id);
    this.owed.set(device.id, { device, leftOut });
  }

  /** At each status poll the controller answered: an alert the database refused is raised again. */
  polled(deviceId: string): void {
    const owed = this.owed.get(deviceId);
    if (owed) this.planned(owed.device, owed.leftOut);
  }
}
