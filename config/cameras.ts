import { z } from 'zod';
import { deviceId } from './common.js';

export const cameraConfig = z.object({
  id: deviceId,
  name: z.string().min(1),
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(80),
  username: z.string().optional(),
  /** Plain in the file only if you must; prefer `passwordEnc` written by the API (encrypted with `cameras.secretKey`). */
  password: z.string().optional(),
  accessPoints: z.array(deviceId).default([]),
  zones: z.array(z.string()).default([]),
  presets: z.record(z.string(), z.string()).default({}),
  simulated: z.boolean().default(false),
});

export const camerasConfig = z.object({
  cameras: z.array(cameraConfig).default([]),
});

export type CameraConfig = z.infer<typeof cameraConfig>;
