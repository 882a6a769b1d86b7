import { z } from 'zod';
import { deviceId, secretHash } from './common.js';

export const sensorConfig = z.object({
  id: deviceId,
  zone: z.string().min(1),
  kind: z.string().min(1).default('environment'),
  model: z.string().optional(),
  /** Expected seconds between reports; 3 missed intervals raise `sensor_offline`. */
  intervalS: z.number().int().positive().default(60),
  /** Payload family and the name the device publishes under, if not the native topic. */
  source: z
    .discriminatedUnion('type', [
      z.object({ type: z.literal('native') }),
      z.object({ type: z.literal('zigbee2mqtt'), friendlyName: z.string().min(1) }),
      z.object({ type: z.literal('tasmota'), device: z.string().min(1) }),
      z.object({ type: z.literal('simulated') }),
    ])
    .default({ type: 'native' }),
  secretHash: secretHash.optional(),
});

export const sensorsConfig = z.object({
  sensors: z.array(sensorConfig).default([]),
});

export type SensorConfig = z.infer<typeof sensorConfig>;
