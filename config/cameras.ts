import { z } from 'zod';
import { timeWindow } from './access.js';
import { deviceId, localizedName } from './common.js';

/** `v1:<iv>:<tag>:<ciphertext>` (base64url): AES-256-GCM with `cameras.secretKey`, written by the API or `campus-gateway camera-password`. */
export const encryptedSecret = z.string().regex(/^v1:[A-Za-z0-9_-]+:[A-Za-z0-9_-]+:[A-Za-z0-9_-]*$/, 'an encrypted secret ("v1:…")');

/** What the demo's simulated cameras do by themselves (ignored for real cameras). */
export const cameraSimulation = z.strictObject({
  motionEveryS: z.number().nonnegative().default(90).meta({ description: 'Mean seconds between motion events; 0 = never.' }),
  offlineEveryS: z.number().nonnegative().default(0).meta({ description: 'Goes offline every this many seconds (0 = never) …' }),
  offlineForS: z.number().nonnegative().default(60).meta({ description: '… for this long.' }),
});

export const cameraConfig = z.strictObject({
  id: deviceId,
  name: localizedName,
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535).default(80).meta({ description: 'The ONVIF (HTTP) port, not the RTSP port (554).' }),
  devicePath: z.string().startsWith('/').default('/onvif/device_service').meta({ description: 'Path of the device service.' }),
  username: z.string().optional(),
  password: z.string().optional()
    .meta({ description: 'Plain in the file only if you must; prefer `passwordEnc` written by the API (encrypted with `cameras.secretKey`).' }),
  passwordEnc: encryptedSecret.optional(),
  auth: z.enum(['auto', 'digest']).default('auto')
    .meta({ description: '`auto`: WS-Security UsernameToken, answering an HTTP Digest challenge when the camera sends one. `digest`: HTTP Digest only (no WS-Security header), for cameras that reject UsernameToken.' }),
  accessPoints: z.array(deviceId).default([]),
  zones: z.array(z.string()).default([]),
  presets: z.record(z.string(), z.string()).default({})
    .meta({ description: 'PTZ presets by name → the camera\'s preset token. A preset named like an access point or zone is recalled before an evidence snapshot for an alert there.' }),
  simulated: z.boolean().default(false),
  simulation: cameraSimulation.prefault({}),
  clips: z.boolean().optional()
    .meta({ description: 'Keep a pre-roll of the main stream so alerts here get video clips. Default: on when the camera covers an access point or a zone. Keeps one RTSP pull of the camera running all the time.' }),
});

export const camerasConfig = z.strictObject({
  cameras: z.array(cameraConfig).default([]),
  secretKey: z.string().min(16).optional()
    .meta({ description: 'Key for camera passwords at rest: 64 hex digits (used as is) or a passphrase (stretched with scrypt). Also from CAMPUS_CAMERA_KEY. Without it, the API refuses to store camera passwords.' }),
  pollIntervalMs: z.number().int().min(10).default(15_000).meta({ description: 'Health poll per camera.' }),
  offlineAfterFailures: z.number().int().min(1).default(3)
    .meta({ description: 'Consecutive failed polls before a camera is offline (and `camera_offline` is raised).' }),
  onlineAfterSuccesses: z.number().int().min(1).default(1).meta({ description: 'Consecutive good polls before an offline camera is online again.' }),
  requestTimeoutMs: z.number().int().min(100).default(5_000).meta({ description: 'Any single ONVIF request (except PullMessages).' }),
  pullTimeoutMs: z.number().int().min(100).default(75_000)
    .meta({ description: 'How long to wait for a PullMessages answer; cameras hold it up to a minute when nothing happens.' }),
  renewBeforeMs: z.number().int().min(0).default(30_000).meta({ description: 'Renew the PullPoint subscription when less than this is left of it.' }),
  eventRetryMinMs: z.number().int().min(10).default(1_000)
    .meta({ description: 'Backoff between failed subscription attempts: doubles from min to max, with jitter.' }),
  eventRetryMaxMs: z.number().int().min(10).default(60_000),
  snapshotTimeoutMs: z.number().int().min(100).default(8_000),
  snapshotMaxBytes: z.number().int().min(1024).default(5 * 1024 * 1024).meta({ description: 'A snapshot larger than this is refused.' }),
  maxReplyBytes: z.number().int().min(64 * 1024).default(2 * 1024 * 1024)
    .meta({ description: 'A camera\'s SOAP reply (ONVIF over HTTP) larger than this is refused (`too_large`) as soon as its Content-Length or its bytes pass it; real replies are a few KB to a few hundred KB.' }),
  presetSettleMs: z.number().int().min(0).default(2_000)
    .meta({ description: 'Wait after a PTZ preset recall before the evidence snapshot, so the picture is not a blur.' }),
  retention: z
    .object({
      maxCount: z.number().int().min(1).default(2_000)
        .meta({ description: 'Snapshots kept (all cameras); the oldest routine ones go first, then the oldest evidence.' }),
      maxBytes: z.number().int().min(1024).default(500 * 1024 * 1024),
    })
    .prefault({}),
  snapshotIntervalS: z.number().int().min(0).default(0)
    .meta({ description: 'Take a routine snapshot of every online camera this often (0 = only on demand and as evidence).' }),
  zoneSchedules: z.record(z.string(), z.array(timeWindow)).default({})
    .meta({ description: 'When each zone is in use. Motion (or a line/field crossing) in a listed zone outside all of its windows raises an `intrusion` alert; zones not listed never do. Days 1 = Monday … 7 = Sunday, in school.timezone.' }),
  basicAuth: z.boolean().default(false)
    .meta({ description: 'Answer a camera that asks for Basic authentication for its snapshots or RTSP stream (its password in clear on the LAN, to whatever answers at its address). Off: only Digest, and such a camera says why it has no picture or video. Turn Digest on in the cameras instead where you can.' }),
  ffmpegPath: z.string().min(1).default('ffmpeg')
    .meta({ description: 'The ffmpeg binary (Debian package `ffmpeg`) that pulls RTSP; without it, live view and clips are off.' }),
  maxLivePulls: z.number().int().min(1).default(8)
    .meta({ description: 'Upstream RTSP pulls at once (live views and pre-rolls, one per camera and stream); more are refused with 503.' }),
  liveIdleStopS: z.number().min(0).default(30).meta({ description: 'Stop a camera stream\'s pull this long after its last live viewer leaves.' }),
  liveStallS: z.number().min(1).default(10)
    .meta({ description: 'A pull that delivers nothing for this long is restarted (cameras drop RTSP sessions silently).' }),
  liveViewerBufferBytes: z.number().int().min(65_536).default(4 * 1024 * 1024)
    .meta({ description: 'Bytes one live viewer may fall behind before it is cut off (the stream goes on for everyone else).' }),
  liveMaxViewers: z.number().int().min(1).default(16).meta({ description: 'Live viewers of one camera stream at once; more are refused with 503.' }),
  liveMaxPerUser: z.number().int().min(1).default(12)
    .meta({ description: 'Live streams one login may have open at once (a camera wall plays up to maxLivePulls); more are refused with 429.' }),
  liveForViewers: z.boolean().default(false)
    .meta({ description: 'Whether the viewer role may watch live video (off: children\'s images are for security staff).' }),
  preRollS: z.number().int().min(0).max(120).default(10).meta({ description: 'Seconds of video before and after an alert in its clip.' }),
  postRollS: z.number().int().min(0).max(120).default(10),
  segmentS: z.number().int().min(1).max(10).default(1)
    .meta({ description: 'Length of the pre-roll\'s segments (ffmpeg cuts at the next keyframe after it).' }),
  clipBufferBytes: z.number().int().min(0).default(64 * 1024 * 1024)
    .meta({ description: 'Cap on each camera\'s pre-roll folder; 0 turns pre-roll and clips off.' }),
  clipRetention: z
    .object({
      maxCount: z.number().int().min(1).default(500),
      maxBytes: z.number().int().min(1024).default(2 * 1024 * 1024 * 1024),
    })
    .prefault({})
    .meta({ description: 'Stored alert clips (all cameras), oldest deleted first.' }),
  discovery: z
    .object({
      address: z.string().default('239.255.255.250')
        .meta({ description: 'Where probes go: the WS-Discovery multicast group, or a unicast address (tests use 127.0.0.1).' }),
      port: z.number().int().min(1).max(65535).default(3702),
      timeoutMs: z.number().int().min(100).default(3_000),
    })
    .prefault({}),
});

export type CameraConfig = z.infer<typeof cameraConfig>;
export type CamerasConfig = z.infer<typeof camerasConfig>;
