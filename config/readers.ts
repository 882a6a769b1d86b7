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
  numberFormat: z.enum(CARD_FORMATS).default('hex')
    .meta({ description: 'How an ascii-line reader\'s digits are to be read (hex: the UID; a decimal form: a UID suffix), and for wiegand-hex whether 34-bit frames carry the UID bytes reversed (`reversed`).' }),
  reopenDelayMs: z.number().int().positive().default(2000).meta({ description: 'After the port fails to open or disappears, try again this often.' }),
});

const mqttDriver = z.strictObject({
  type: z.literal('mqtt'),
  numberFormat: z.enum(CARD_FORMATS).default('hex')
    .meta({ description: 'How the terminal writes `uid` (its taps and offline sales): hex, the whole UID; a decimal form (8h10d, reversed, 6h8d, wg26), only the low bytes it was printed from, so a tap matches the one card whose UID ends with them.' }),
  secretHash: secretHash.optional()
    .meta({ description: 'Hash of the secret this reader logs in with (username = reader id). Omit only in demo mode.' }),
});

/** node-rfid always runs `python` from PATH (it has no setting for another interpreter). */
const rc522Driver = z.strictObject({
  type: z.literal('rc522'),
  pollIntervalMs: z.number().int().positive().default(300).meta({ description: 'Pause between reads.' }),
  readTimeoutMs: z.number().int().positive().default(2000)
    .meta({ description: 'Each read waits this long for a card, then node-rfid kills its python process and we read again.' }),
  retryDelayMs: z.number().int().positive().default(5000)
    .meta({ description: 'After python is missing or reads keep failing, wait this long before trying again.' }),
});

const simulatedDriver = z.strictObject({
  type: z.literal('simulated'),
  pattern: z.enum(['gate-in', 'gate-out', 'canteen', 'door']).optional()
    .meta({ description: 'Which traffic to simulate; by default from the access point\'s kind and the reader\'s direction.' }),
  dayCycleS: z.number().positive().default(900).meta({ description: 'Real seconds one school day (06:00–19:00) takes in the demo.' }),
  peakTapsPerS: z.number().positive().max(50).default(3).meta({ description: 'Taps per second at the height of a rush.' }),
});

export const readerDriver = z.discriminatedUnion('type', [serialDriver, mqttDriver, rc522Driver, simulatedDriver]);

export const readerConfig = z.strictObject({
  id: deviceId,
  name: localizedName.optional().meta({ description: 'What the console calls this reader or canteen terminal; the id when unset.' }),
  accessPoint: deviceId.meta({ description: 'The access point this reader serves (gate, door, classroom, canteen).' }),
  direction: z.enum(['in', 'out']).optional().meta({ description: 'For gates: which way a person passes when tapping here.' }),
  debounceMs: z.number().int().nonnegative().default(1500).meta({ description: 'A card held on the reader counts once per window.' }),
  driver: readerDriver,
});

export type ReaderConfig = z.infer<typeof readerConfig>;
export type ReaderDriverConfig = z.infer<typeof readerDriver>;
