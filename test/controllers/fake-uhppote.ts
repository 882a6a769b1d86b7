/**
 * The tests' UHPPOTE/WeiGeng controller: the demo's protocol-level simulation (drivers/controllers/uhppote/simulated.ts)
 * with the faults a school LAN brings on top: a controller unplugged, older firmware silent to a request, pushes lost,
 * a broken clock, a power cycle, and a device on the LAN forging its replies. It counts the requests it answered.
 */
import type { RemoteInfo } from 'node:dgram';
import type { Request } from '../../drivers/controllers/uhppote/messages.js';
import { EVENT_TYPE, REASON, type ControllerEvent, type Response } from '../../drivers/controllers/uhppote/responses.js';
import { SimulatedController, type SimulatedControllerOptions } from '../../drivers/controllers/uhppote/simulated.js';

export type FakeControllerOptions = SimulatedControllerOptions;

export class FakeUhppote extends SimulatedController {
  /** Requests answered, by type (tests check what the gateway asked). */
  readonly requests = new Map<string, number>();
  /** When false the controller keeps logging but its pushes are lost (a network outage towards the gateway). */
  pushing = true;
  /** When true it answers nothing (unplugged). */
  unreachable = false;
  /** Requests it stays silent to (older firmware without a function). */
  readonly silentTo = new Set<Request['type']>();
  /** put-card answered "not done" (a full card store, or a forged reply), the card not stored. */
  refusePuts = false;
  /**
   * Firmware that stores a new card in the first deleted slot (as uhppoted's simulator does) instead of after the
   * last one: a card deleted and another put then keep the card count (get-cards).
   */
  reuseDeletedSlots = false;
  /**
   * A device on the LAN answering for the controller (its address and port forged), as an attacker winning the race:
   * each forged reply is sent first, then the controller's own reply, until the list runs out.
   */
  readonly forgedReplies: Response[] = [];
  /** Forged status replies that arrive alone (the controller's own was lost): each is the answer to one status read. */
  readonly lonelyStatuses: number[] = [];
  /** A broken real-time clock: every time stamp and status reads this (valid BCD, impossible date), until cleared. */
  brokenClock: string | undefined;
  /** Requests whose replies wait until release() (a reply in flight at a chosen moment). */
  readonly holding = new Set<Request['type']>();
  /** The replies held so far, each sent by release(). */
  readonly held: (() => void)[] = [];

  /** Sends the held replies, in order. */
  release(): void {
    for (const send of this.held.splice(0)) send();
  }

  override now(): string {
    return this.brokenClock ?? super.now();
  }

  /** Power cycle: silent while down, back on the same port with cards, log and listener kept, and a power-on event. */
  async reboot(downMs = 50): Promise<void> {
    const port = this.port;
    await this.stop();
    await new Promise((r) => setTimeout(r, downMs));
    await this.start(port);
    this.log({ type: EVENT_TYPE.system, granted: false, door: 0, direction: 1, card: 0, reason: REASON.powerOn });
  }

  /** Sends a logged event to the listener again (a duplicate on the wire). */
  repush(index: number): void {
    const e = this.eventAt(index);
    if (e) this.push(e);
  }

  /** Sends raw bytes to the listener (hostile and malformed packets in tests). */
  sendRaw(bytes: Buffer): void {
    const { address, port } = this.listener;
    if (this.socket && port !== 0) this.socket.send(bytes, port, address);
  }

  protected override push(event: ControllerEvent): void {
    if (this.pushing) super.push(event);
  }

  protected override onMessage(msg: Buffer, rinfo: RemoteInfo): void {
    if (!this.unreachable) super.onMessage(msg, rinfo);
  }

  protected override handle(request: Request, rinfo: RemoteInfo): void {
    if (this.silentTo.has(request.type)) return;
    if (this.holding.has(request.type)) {
      this.held.push(() => super.handle(request, rinfo));
      return;
    }
    this.requests.set(request.type, (this.requests.get(request.type) ?? 0) + 1);
    // The forger's reply goes first, whatever the controller's own answer is (a refusal among them).
    const forged = this.forgedReplies[0]?.type === request.type ? this.forgedReplies.shift() : undefined;
    if (forged) this.reply(forged, rinfo);
    if (request.type === 'get-status' && this.lonelyStatuses.length > 0) {
      const lastIndex = this.lonelyStatuses.shift()!;
      this.reply({ type: 'get-status', status: { ...this.status(null), lastIndex } }, rinfo);
      return;
    }
    if (request.type === 'put-card' && this.refusePuts) {
      this.reply({ type: 'put-card', ok: false }, rinfo);
      return;
    }
    const hole = request.type === 'put-card' && this.reuseDeletedSlots && !this.card(request.record.card) ? this.slots.indexOf(null) : -1;
    if (request.type === 'put-card' && hole >= 0) {
      this.slots[hole] = request.record;
      this.slotOf.set(request.record.card, hole);
      this.reply({ type: 'put-card', ok: true }, rinfo);
      return;
    }
    super.handle(request, rinfo);
  }
}
