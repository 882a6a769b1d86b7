/**
 * The PIN a canteen terminal sends in a tap is for the wallet's decision only (issue 17, docs/wallet.md). It is taken
 * out of the message before the broker routes it: the broker stores retained messages, queues QoS 1 messages for
 * persistent sessions and hands messages to in-process subscribers (Node-RED flows, the bus mirror) before any
 * per-subscriber hook could run, so stripping it on the way out would leave it in all of those.
 */
import { isReaderTapTopic } from '../core/topics.js';

const PIN_KEY = Buffer.from('"pin"');
/** A JSON escape: `"\u0070in"` is the key `pin` to JSON.parse, and so to the wallet, but not to a byte search. */
const ESCAPE = Buffer.from('\\u');

/**
 * A tap without the card holder's PIN, or undefined when there is none to take out (the payload goes as it is).
 * Parses only a tap whose payload names a PIN or holds an escape that could spell it: taps are the hot path.
 */
export function tapWithoutPin(topic: string, payload: Buffer): Buffer | undefined {
  if (!isReaderTapTopic(topic) || (!payload.includes(PIN_KEY) && !payload.includes(ESCAPE))) return undefined;
  try {
    const body = JSON.parse(payload.toString('utf8')) as unknown;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return Buffer.alloc(0);
    const { pin: _pin, ...rest } = body as Record<string, unknown>;
    return Buffer.from(JSON.stringify(rest));
  } catch {
    // Not JSON but it names a PIN: route nothing of it.
    return Buffer.alloc(0);
  }
}

/**
 * Taps stripped of their PIN on the way in, with the original kept for the decision while the broker routes them.
 * Keyed by the stripped payload, which Aedes hands unchanged to in-process subscribers; weak, so a message that
 * never finishes routing cannot hold a PIN longer than the message itself lives.
 */
export class TapPins {
  private readonly originals = new WeakMap<Buffer, Buffer>();
  /**
   * Originals kept and not yet let go by `routed`: while there are none, the broker need not watch its routed
   * messages at all. A message that never finishes routing (a storage error) keeps this above zero, which only
   * keeps the broker watching; its PIN still goes with the message (weak map).
   */
  private held = 0;

  /** Whether a stripped tap's original is waiting for its message to be routed. */
  get waiting(): boolean {
    return this.held > 0;
  }

  /** Replaces `packet.payload` with the tap without its PIN; a no-op for any other message. True if it took one out. */
  strip(packet: { topic: string; payload: Buffer | string }): boolean {
    if (!Buffer.isBuffer(packet.payload)) return false;
    const without = tapWithoutPin(packet.topic, packet.payload);
    if (without === undefined) return false;
    this.originals.set(without, packet.payload);
    this.held++;
    packet.payload = without;
    return true;
  }

  /** The payload as the terminal sent it, PIN included: only for the in-process subscriber that decides. */
  original(payload: Buffer): Buffer {
    return this.originals.get(payload) ?? payload;
  }

  /** The message has been routed (or refused): nobody else may get the PIN. */
  routed(payload: unknown): void {
    if (Buffer.isBuffer(payload) && this.originals.delete(payload)) this.held--;
  }

  /**
   * A will is stored with the session at CONNECT and published when the connection drops: strip it at CONNECT. Aedes
   * keeps it as the client's `_will` (not in its typings); if that ever changes this does nothing and the will is
   * still stripped when published, through `strip`.
   */
  stripWill(client: object): void {
    const will: unknown = (client as { _will?: unknown })._will;
    if (typeof will !== 'object' || will === null) return;
    const w = will as { topic?: unknown; payload?: unknown };
    if (typeof w.topic !== 'string' || !Buffer.isBuffer(w.payload)) return;
    const without = tapWithoutPin(w.topic, w.payload);
    if (without !== undefined) w.payload = without;
  }
}
