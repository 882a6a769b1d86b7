/**
 * Card numbers a controller's plan leaves out (plan.ts: each stands for more than one card), said once per change, not
 * at every sync: IT has to reissue one card of each. An alert, not only a log line: the child is refused at these doors
 * while the gateway's own readers let them in, so nobody at the school would otherwise notice.
 */
import type { ControllerDeviceConfig } from '../../../config/controllers.js';
import { WantedAlert } from '../../../gateway/core/wanted-alert.js';
import type { GatewayContext } from '../../../gateway/module/context.js';
import type { LeftOutCard } from './plan.js';

/** Left-out card numbers listed in the log and the API (the count is always whole). */
export const LEFT_OUT_SHOWN = 50;

export interface LeftOutAlertsDeps {
  alerts: Pick<GatewayContext['alerts'], 'tryRaise' | 'tryResolveByKey'>;
  log: { warn(o: object, m: string): void };
}

type RaiseInput = Parameters<LeftOutAlertsDeps['alerts']['tryRaise']>[0];

export class LeftOutAlerts {
  /** What was said last for each controller (its left-out numbers and reasons). */
  private readonly said = new Map<string, string>();
  /**
   * Each controller's alert as its last plan wants it, raised (or resolved, for none) again at each status poll while
   * the database refuses it (a full disk; polled). Said once per change, a refused alert was never raised, and a child
   * stayed refused at these doors with nobody told (nothing replans a list that does not change).
   */
  private readonly alerts = new Map<string, WantedAlert<RaiseInput>>();

  constructor(private readonly d: LeftOutAlertsDeps) {}

  /** A plan made for a controller (its leftOut): raised or resolved when it changed. */
  planned(device: ControllerDeviceConfig, leftOut: readonly LeftOutCard[]): void {
    const said = leftOut.map((c) => `${c.card}:${c.reason}`).join();
    const key = `controller_cards_left_out:${device.id}`;
    let alert = this.alerts.get(device.id);
    if (!alert) this.alerts.set(device.id, (alert = new WantedAlert(this.d.alerts, key)));
    if (said === this.said.get(device.id)) {
      alert.tick(); // the same plan again: what was refused is owed still
      return;
    }
    this.said.set(device.id, said);
    if (leftOut.length === 0) {
      // Also after a restart, when this process never raised it (mended meanwhile); nothing open, nothing done. Not
      // thrown (a full disk): it runs inside the sync's plan, which a throw failed.
      alert.resolve('no card number on this controller stands for two cards any more');
      return;
    }
    const message = `${leftOut.length} card number(s) left off door controller ${device.id}: each stands for more than one card, so its doors refuse them; reissue one card of each (GET /api/v1/controllers names them)`;
    this.d.log.warn({ controller: device.id, cardNumber: device.cardNumber, cards: leftOut.slice(0, LEFT_OUT_SHOWN) }, message);
    // No numbers in the alert: alerts reach every role, the event stream and the MQTT mirror, and the numbers are
    // enough to clone a card. The controllers API gives them to admin and security.
    alert.raise({
      type: 'controller_cards_left_out', severity: 'warning', source: `controller:${device.id}`, dedupKey: key, message,
      data: { controller: device.id, cardNumber: device.cardNumber, count: leftOut.length },
    });
  }

  /** At each status poll the controller answered: an alert the database refused is raised (resolved) again. */
  polled(deviceId: string): void {
    this.alerts.get(deviceId)?.tick();
  }
}
