/**
 * Network readers: terminals that publish a tap to `campus/readers/<readerId>/tap` on the embedded broker, as
 * JSON `{"uid":"0A1B2C3D","seq":17,"amount":1250}` or as the bare UID text. One in-process subscription
 * serves every configured network reader. A message for a reader that is not configured, or one we cannot
 * read, is counted by reason and logged (rate-limited); it never throws and never stops the others.
 */
import { z } from 'zod';
import type { MqttPort } from '../../gateway/core/mqtt-port.js';
import { normalizeUid, parseCardNumber, type CardFormat } from '../../gateway/core/card-number.js';
import { parseDeviceTime } from '../../gateway/core/device-time.js';
import { TypedPin, type OfflineTransaction, type Tap } from '../../gateway/core/taps.js';
import { ReaderBase, type ReaderHooks } from './types.js';
import { topicFilters } from '../../gateway/core/topics.js';

export const TAP_TOPIC_FILTER = topicFilters.readerTaps;
/** A POS terminal's sales made while it could not reach the gateway (docs/wallet.md). */
export const OFFLINE_TOPIC_FILTER = topicFilters.readerOfflineUploads;
/** Far more than any tap needs; a bigger payload is not a tap. */
const MAX_PAYLOAD = 1024;
/** 500 sales of ~70 bytes each; a terminal with more sends several batches. */
const MAX_OFFLINE_PAYLOAD = 64 * 1024;
const MAX_OFFLINE_TRANSACTIONS = 500;

/**
 * Only the card is required to be readable. The rest is read leniently so that a terminal that gets a field wrong
 * hears why instead of timing out: see `tapFields`.
 */
export const networkTapPayload = z.object({
  uid: z.string().min(1).max(64),
  /** The terminal's transaction number: retries with the same seq are one transaction (not debounced). */
  seq: z.unknown().optional(),
  /** Canteen POS: integer fen. */
  amount: z.unknown().optional(),
  /** The card holder's PIN, typed on the terminal when the wallet asked for it (`pin_required`). */
  pin: z.unknown().optional(),
});
export type NetworkTapPayload = z.infer<typeof networkTapPayload>;

/**
 * A tap's optional fields as the decision needs them. A `seq` that is not a whole number ≥ 0 counts as none (a
 * payment without one is refused `invalid_amount`); an `amount` that is not a number becomes NaN, which the wallet
 * refuses as `invalid_amount` (yuan as "12.50" too); a PIN sent as a number is read as its digits, and one that is
 * not 4–6 digits is simply a wrong PIN.
 */
function tapFields(f: NetworkTapPayload): { seq: number | undefined; amount: number | undefined; pin: TypedPin | undefined } {
  const seq = typeof f.seq === 'number' && Number.isSafeInteger(f.seq) && f.seq >= 0 ? f.seq : undefined;
  const amount = f.amount === undefined ? undefined : typeof f.amount === 'number' ? f.amount : Number.NaN;
  const pin = f.pin === undefined ? undefined : new TypedPin(typeof f.pin === 'string' || typeof f.pin === 'number' ? String(f.pin) : '');
  return { seq, amount, pin };
}

/**
 * A terminal's `uid` as its `numberFormat` writes it: hex gives the whole UID, read strictly (no repairs: a terminal
 * is not a spreadsheet); a decimal form gives the low bytes it was printed from, which match a card only by suffix.
 */
function readCard(text: string, format: CardFormat): { ok: true; uid: string; partial: boolean } | { ok: false; detail: string } {
  if (format === 'hex') {
    const u = normalizeUid(text);
    return u.ok ? { ok: true, uid: u.value, partial: false } : { ok: false, detail: u.error.message };
  }
  const k = parseCardNumber(text, format);
  return k.ok ? { ok: true, uid: k.value.key, partial: true } : { ok: false, detail: k.error.message };
}

export type RejectReason = 'unknown_reader' | 'too_large' | 'malformed_json' | 'bad_payload' | 'bad_uid';

const offlineBatchId = z.object({ batch: z.string().min(1).max(64) });
const offlinePayload = z.strictObject({
  batch: z.string().min(1).max(64),
  transactions: z
    .array(
      z.object({
        uid: z.string().min(1).max(64),
        seq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
        // Judged by the wallet, as online: an amount in yuan or as text is held as `invalid_amount`, not lost.
        amount: z.unknown(),
        at: z.union([z.number().positive(), z.string().max(40)]),
      }),
    )
    .min(1)
    .max(MAX_OFFLINE_TRANSACTIONS),
});

/**
 * Reads an offline upload. All or nothing: one unreadable sale refuses the batch, naming it, so the terminal keeps
 * the whole batch and nothing is half-recorded.
 */
export function parseOfflineUpload(
  payload: Buffer,
  format: CardFormat = 'hex',
):
  | { ok: true; value: { batch: string; transactions: OfflineTransaction[] } }
  | { ok: false; reason: RejectReason; detail: string; batch: string | null } {
  if (payload.length > MAX_OFFLINE_PAYLOAD) return { ok: false, reason: 'too_large', detail: `${payload.length} bytes`, batch: null };
  let body: unknown;
  try {
    body = JSON.parse(payload.toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed_json', detail: 'an offline upload is a JSON object', batch: null };
  }
  // The batch id, when it can be read, goes back with the refusal so the terminal knows which batch to fix.
  const id = offlineBatchId.safeParse(body);
  const batch = id.success ? id.data.batch : null;
  const r = offlinePayload.safeParse(body);
  if (!r.success) {
    const issue = r.error.issues[0];
    return { ok: false, reason: 'bad_payload', detail: issue ? `${issue.path.join('.') || 'payload'}: ${issue.message}` : 'invalid', batch };
  }
  const transactions: OfflineTransaction[] = [];
  for (const [i, t] of r.data.transactions.entries()) {
    const card = readCard(t.uid, format);
    if (!card.ok) return { ok: false, reason: 'bad_uid', detail: `transactions.${i}.uid: ${card.detail}`, batch };
    const at = parseDeviceTime(t.at);
    if (at === undefined) {
      return { ok: false, reason: 'bad_payload', detail: `transactions.${i}.at: epoch ms or s, or ISO 8601 with a zone (2026-11-24T12:05:00+08:00)`, batch };
    }
    const amount = typeof t.amount === 'number' ? t.amount : Number.NaN;
    transactions.push(card.partial ? { uid: card.uid, partial: true, seq: t.seq, amount, at } : { uid: card.uid, seq: t.seq, amount, at });
  }
  return { ok: true, value: { batch: r.data.batch, transactions } };
}

/** Reads a payload into a tap's fields, or says why not. Pure, for the dispatcher and its tests. */
export function parseNetworkTap(
  payload: Buffer,
  format: CardFormat = 'hex',
):
  | { ok: true; value: { uid: string; partial: boolean; seq: number | undefined; amount: number | undefined; pin: TypedPin | undefined } }
  | { ok: false; reason: RejectReason; detail: string } {
  if (payload.length > MAX_PAYLOAD) return { ok: false, reason: 'too_large', detail: `${payload.length} bytes` };
  const text = payload.toString('utf8').trim();
  let body: unknown = text;
  if (text.startsWith('{') || text.startsWith('"')) {
    try {
      body = JSON.parse(text);
    } catch {
      return { ok: false, reason: 'malformed_json', detail: 'payload starts like JSON but does not parse' };
    }
  }
  let fields: NetworkTapPayload;
  if (typeof body === 'string') fields = { uid: body };
  else {
    const r = networkTapPayload.safeParse(body);
    if (!r.success) {
      const issue = r.error.issues[0];
      return { ok: false, reason: 'bad_payload', detail: issue ? `${issue.path.join('.') || 'payload'}: ${issue.message}` : 'invalid' };
    }
    fields = r.data;
  }
  const card = readCard(fields.uid, format);
  if (!card.ok) return { ok: false, reason: 'bad_uid', detail: card.detail };
  // Flat, not `{...fields, uid}`: see the note on spreads in AccessEngine.decide (gateway/access/engine.ts).
  const { seq, amount, pin } = tapFields(fields);
  return { ok: true, value: { uid: card.uid, partial: card.partial, seq, amount, pin } };
}

/** One configured network reader; its taps come from the shared subscription. */
export class MqttReader extends ReaderBase {
  readonly type = 'mqtt' as const;

  constructor(
    id: string,
    hooks: ReaderHooks,
    now: () => number,
    private readonly hub: NetworkReaderHub,
    /** How this terminal writes card numbers (config `numberFormat`). */
    readonly numberFormat: CardFormat = 'hex',
  ) {
    super(id, hooks, now);
  }

  async start(): Promise<void> {
    await this.hub.attach(this);
    this.setState('up', `listening on campus/readers/${this.id}/tap`);
  }

  async stop(): Promise<void> {
    await this.hub.detach(this);
    this.setState('stopped');
  }

  /** Called by the hub with a message addressed to this reader. */
  receive(payload: Buffer): void {
    const r = parseNetworkTap(payload, this.numberFormat);
    if (!r.ok) {
      this.hub.reject(r.reason, this.id, r.detail);
      this.hooks.drop(r.reason);
      return;
    }
    const { uid, partial, seq, amount, pin } = r.value;
    const tap: Tap = pin ? { readerId: this.id, uid, at: this.now(), seq, amount, pin } : { readerId: this.id, uid, at: this.now(), seq, amount };
    if (partial) tap.partial = true;
    this.hooks.tap(tap);
  }
}

/** The one subscription: routes by reader id, counts what it cannot route. */
export class NetworkReaderHub {
  private readonly readers = new Map<string, MqttReader>();
  private unsubscribe: (() => Promise<void>) | undefined;
  private subscribing: Promise<void> | undefined;

  constructor(
    private readonly mqtt: MqttPort,
    private readonly onReject: (reason: RejectReason, readerId: string, detail: string) => void,
    /** An upload read, or refused with why (answered on …/offline/result by the access domain, as a read one). */
    private readonly onOffline: (readerId: string, upload: { batch: string | null; transactions: OfflineTransaction[]; unreadable?: string }) => void,
  ) {}

  async attach(reader: MqttReader): Promise<void> {
    this.readers.set(reader.id, reader);
    this.subscribing ??= Promise.all([
      // The one subscriber that gets a tap's PIN: the wallet decides with it.
      this.mqtt.subscribe(TAP_TOPIC_FILTER, (topic, payload) => this.route(topic, payload, (r) => r.receive(payload)), { tapPin: true }),
      this.mqtt.subscribe(OFFLINE_TOPIC_FILTER, (topic, payload) => this.route(topic, payload, (r) => this.offline(r, payload))),
    ]).then((offs) => {
      this.unsubscribe = async () => {
        await Promise.all(offs.map((off) => off()));
      };
    });
    await this.subscribing;
  }

  private offline(reader: MqttReader, payload: Buffer): void {
    const r = parseOfflineUpload(payload, reader.numberFormat);
    if (r.ok) {
      this.onOffline(reader.id, r.value);
      return;
    }
    this.onReject(r.reason, reader.id, `offline upload: ${r.detail}`);
    this.onOffline(reader.id, { batch: r.batch, transactions: [], unreadable: `${r.reason}: ${r.detail}` });
  }

  async detach(reader: MqttReader): Promise<void> {
    this.readers.delete(reader.id);
    if (this.readers.size === 0 && this.subscribing) {
      await this.subscribing.catch(() => {});
      const off = this.unsubscribe;
      this.unsubscribe = undefined;
      this.subscribing = undefined;
      await off?.().catch(() => {});
    }
  }

  reject(reason: RejectReason, readerId: string, detail: string): void {
    this.onReject(reason, readerId, detail);
  }

  private route(topic: string, payload: Buffer, deliver: (reader: MqttReader) => void): void {
    try {
      const readerId = topic.split('/')[2] ?? '';
      const reader = this.readers.get(readerId);
      if (!reader) {
        this.onReject('unknown_reader', readerId, 'no network reader with this id is configured');
        return;
      }
      deliver(reader);
    } catch (err) {
      // A bug downstream must not take the broker's delivery loop with it.
      this.onReject('bad_payload', topic, err instanceof Error ? err.message : String(err));
    }
  }
}
