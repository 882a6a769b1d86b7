import { z } from 'zod';
import { deviceId, localizedName, secretHash } from './common.js';

/** The printed forms of a card number (gateway/core/card-number.ts makes and parses them). */
export const CARD_FORMATS = ['hex', '8h10d', 'reversed', '6h8d', 'wg26'] as const;
export type CardFormat = (typeof CARD_FORMATS)[number];

/** Serial framing profiles; see shared reference card-readers.md and drivers/rfid/framing. */
export const serialProfile = z.enum(['ascii-line', 'em-ascii', 'stx-bcc', 'wiegand-hex']);

const serialDriver = z.strictObject({
  type: z.literal('serial'),
  path: z.string().min(1),
  baudRate: z.number().int().positive().default(9600),
  profile: serialProfile.default('em-ascii'),
  /**
   * How an ascii-line reader's digits are to be read (hex: the UID; a decimal form: a UID suffix), and for
   * wiegand-hex whether 34-bit frames carry the UID bytes reversed (`reversed`).
   */
  numberFormat: z.enum(CARD_FORMATS).default('hex'),
  /** After the port fails to open or disappears, try again this often. */
  reopenDelayMs: z.number().int().positive().default(2000),
});

const mqttDriver = z.strictObject({
  type: z.literal('mqtt'),
  /** Hash of the secret this reader logs in with (username = reader id). Omit only in demo mode. */
  secretHash: secretHash.optional(),
});

/** node-rfid always runs `python` from PATH (it has no setting for another interpreter). */
const rc522Driver = z.strictObject({
  type: z.literal('rc522'),
  /** Pause between reads. */
  pollIntervalMs: z.number().int().positive().default(300),
  /** Each read waits this long for a card, then node-rfid kills its python process and we read again. */
  readTimeoutMs: z.number().int().positive().default(2000),
  /** After python is missing or reads keep failing, wait this long before trying again. */
  retryDelayMs: z.number().int().positive().default(5000),
});

const simulatedDriver = z.strictObject({
  type: z.literal('simulated'),
  /** Which traffic to simulate; by default from the access point's kind and the reader's direction. */
  pattern: z.enum(['gate-in', 'gate-out', 'canteen', 'door']).optional(),
  /** Real seconds one school day (06:00–19:00) takes in the demo. */
  dayCycleS: z.number().positive().default(900),
  /** Taps per second at the height of a rush. */
  peakTapsPerS: z.number().positive().max(50).default(3),
});

export const readerDriver = z.discriminatedUnion('type', [serialDriver, mqttDriver, rc522Driver, simulatedDriver]);

export const readerConfig = z.strictObject({
  id: deviceId,
  /** What the console calls this reader or canteen terminal; the id when unset. */
  name: localizedName.optional(),
  /** The access point this reader serves (gate, door, classroom, canteen). */
  accessPoint: deviceId,
  /** For gates: which way a person passes when tapping here. */
  direction: z.enum(['in', 'out']).optional(),
  /** A card held on the reader counts once per window. */
  debounceMs: z.number().int().nonnegative().default(1500),
  driver: readerDriver,
});

export type ReaderConfig = z.infer<typeof readerConfig>;
export type ReaderDriverConfig = z.infer<typeof readerDriver>;
