import { z } from 'zod';
import { deviceId, secretHash } from './common.js';

/** Serial framing profiles; see shared reference card-readers.md and drivers/rfid/framing. */
export const serialProfile = z.enum(['ascii-line', 'em-ascii', 'stx-bcc', 'wiegand-hex']);

const serialDriver = z.object({
  type: z.literal('serial'),
  path: z.string().min(1),
  baudRate: z.number().int().positive().default(9600),
  profile: serialProfile.default('em-ascii'),
  /** How digits on an ascii-line reader are to be read. */
  numberFormat: z.enum(['hex', '8h10d', 'reversed', '6h8d', 'wg26']).default('hex'),
  reopenDelayMs: z.number().int().positive().default(2000),
});

const mqttDriver = z.object({
  type: z.literal('mqtt'),
  /** Hash of the secret this reader logs in with (username = reader id). Omit only in demo mode. */
  secretHash: secretHash.optional(),
});

const rc522Driver = z.object({
  type: z.literal('rc522'),
  pythonPath: z.string().default('python3'),
  pollIntervalMs: z.number().int().positive().default(300),
  readTimeoutMs: z.number().int().positive().default(2000),
});

const simulatedDriver = z.object({
  type: z.literal('simulated'),
});

export const readerDriver = z.discriminatedUnion('type', [serialDriver, mqttDriver, rc522Driver, simulatedDriver]);

export const readerConfig = z.object({
  id: deviceId,
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
