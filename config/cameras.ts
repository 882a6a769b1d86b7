import { z } from 'zod';
import { timeWindow } from './access.js';
import { deviceId, localizedName } from './common.js';

/** `v1:<iv>:<tag>:<ciphertext>` (base64url): AES-256-GCM with `cameras.secretKey`, written by the API or `campus-gateway camera-password`. */
export const encryptedSecret = z.string().regex(/^v1:[A-Za-z0-9_-]+:[A-Za-z0-9_-]+:[A-Za-z0-9_-]*$/, 'an encrypted secret ("v1:…")');

/** What the demo's simulated cameras do by themselves (ignored for real cameras). */
export const cameraSimulation = z.strictObject({
  /** Mean seconds between motion events; 0 = never. */
  motionEveryS: z.number().nonnegative().default(90),
  /** Goes offline every this many seconds (0 = never) … */
  offlineEveryS: z.number().nonnegative().default(0),
  /** … for this long. */
  offlineForS: z.number().nonnegative().default(60),
});

export const cameraConfig = z.strictObject({
  id: deviceId,
  name: localizedName,
  host: z.string().min(1),
  /** The ONVIF (HTTP) port, not the RTSP port (554). */
  port: z.number().int().min(1).max(65535).default(80),
  /** Path of the device service. */
  devicePath: z.string().startsWith('/').default('/onvif/device_service'),
  username: z.string().optional(),
  /** Plain in the file only if you must; prefer `passwordEnc` written by the API (encrypted with `cameras.secretKey`). */
  password: z.string().optional(),
  passwordEnc: encryptedSecret.optional(),
  /**
   * `auto`: WS-Security UsernameToken, answering an HTTP Digest challenge when the camera sends one.
   * `digest`: HTTP Digest only (no WS-Security header), for cameras that reject UsernameToken.
   */
  auth: z.enum(['auto', 'digest']).default('auto'),
  accessPoints: z.array(deviceId).default([]),
  zones: z.array(z.string()).default([]),
  /**
   * PTZ presets by name → the camera's preset token. A preset named like an access point or zone is recalled
   * before an evidence snapshot for an alert there.
   */
  presets: z.record(z.string(), z.string()).default({}),
  simulated: z.boolean().default(false),
  simulation: cameraSimulation.prefault({}),
  /**
   * Keep a pre-roll of the main stream so alerts here get video clips. Default: on when the camera covers an access
   * point or a zone. Keeps one RTSP pull of the camera running all the time.
   */
  clips: z.boolean().optional(),
});

export const camerasConfig = z.strictObject({
  cameras: z.array(cameraConfig).default([]),
  /**
   * Key for camera passwords at rest: 64 hex digits (used as is) or a passphrase (stretched with scrypt).
   * Also from CAMPUS_CAMERA_KEY. Without it, the API refuses to store camera passwords.
   */
  secretKey: z.string().min(16).optional(),
  /** Health poll per camera. */
  pollIntervalMs: z.number().int().min(10).default(15_000),
  /** Consecutive failed polls before a camera is offline (and `camera_offline` is raised). */
  offlineAfterFailures: z.number().int().min(1).default(3),
  /** Consecutive good polls before an offline camera is online again. */
  onlineAfterSuccesses: z.number().int().min(1).default(1),
  /** Any single ONVIF request (except PullMessages). */
  requestTimeoutMs: z.number().int().min(100).default(5_000),
  /** How long to wait for a PullMessages answer; cameras hold it up to a minute when nothing happens. */
  pullTimeoutMs: z.number().int().min(100).default(75_000),
  /** Renew the PullPoint subscription when less than this is left of it. */
  renewBeforeMs: z.number().int().min(0).default(30_000),
  /** Backoff between failed subscription attempts: doubles from min to max, with jitter. */
  eventRetryMinMs: z.number().int().min(10).default(1_000),
  eventRetryMaxMs: z.number().int().min(10).default(60_000),
  snapshotTimeoutMs: z.number().int().min(100).default(8_000),
  /** A snapshot larger than this is refused. */
  snapshotMaxBytes: z.number().int().min(1024).default(5 * 1024 * 1024),
  /**
   * A camera's SOAP reply (ONVIF over HTTP) larger than this is refused (`too_large`) as soon as its
   * Content-Length or its bytes pass it; real replies are a few KB to a few hundred KB.
   */
  maxReplyBytes: z.number().int().min(64 * 1024).default(2 * 1024 * 1024),
  /** Wait after a PTZ preset recall before the evidence snapshot, so the picture is not a blur. */
  presetSettleMs: z.number().int().min(0).default(2_000),
  retention: z
    .object({
      /** Snapshots kept (all cameras); the oldest routine ones go first, then the oldest evidence. */
      maxCount: z.number().int().min(1).default(2_000),
      maxBytes: z.number().int().min(1024).default(500 * 1024 * 1024),
    })
    .prefault({}),
  /** Take a routine snapshot of every online camera this often (0 = only on demand and as evidence). */
  snapshotIntervalS: z.number().int().min(0).default(0),
  /**
   * When each zone is in use. Motion (or a line/field crossing) in a listed zone outside all of its windows raises an
   * `intrusion` alert; zones not listed never do. Days 1 = Monday … 7 = Sunday, in school.timezone.
   */
  zoneSchedules: z.record(z.string(), z.array(timeWindow)).default({}),
  /** The ffmpeg binary (Debian package `ffmpeg`) that pulls RTSP; without it, live view and clips are off. */
  ffmpegPath: z.string().min(1).default('ffmpeg'),
  /** Upstream RTSP pulls at once (live views and pre-rolls, one per camera and stream); more are refused with 503. */
  maxLivePulls: z.number().int().min(1).default(8),
  /** Stop a camera stream's pull this long after its last live viewer leaves. */
  liveIdleStopS: z.number().min(0).default(30),
  /** A pull that delivers nothing for this long is restarted (cameras drop RTSP sessions silently). */
  liveStallS: z.number().min(1).default(10),
  /** Bytes one live viewer may fall behind before it is cut off (the stream goes on for everyone else). */
  liveViewerBufferBytes: z.number().int().min(65_536).default(4 * 1024 * 1024),
  /** Live viewers of one camera stream at once; more are refused with 503. */
  liveMaxViewers: z.number().int().min(1).default(16),
  /** Whether the viewer role may watch live video (off: children's images are for security staff). */
  liveForViewers: z.boolean().default(false),
  /** Seconds of video before and after an alert in its clip. */
  preRollS: z.number().int().min(0).max(120).default(10),
  postRollS: z.number().int().min(0).max(120).default(10),
  /** Length of the pre-roll's segments (ffmpeg cuts at the next keyframe after it). */
  segmentS: z.number().int().min(1).max(10).default(1),
  /** Cap on each camera's pre-roll folder; 0 turns pre-roll and clips off. */
  clipBufferBytes: z.number().int().min(0).default(64 * 1024 * 1024),
  /** Stored alert clips (all cameras), oldest deleted first. */
  clipRetention: z
    .object({
      maxCount: z.number().int().min(1).default(500),
      maxBytes: z.number().int().min(1024).default(2 * 1024 * 1024 * 1024),
    })
    .prefault({}),
  discovery: z
    .object({
      /** Where probes go: the WS-Discovery multicast group, or a unicast address (tests use 127.0.0.1). */
      address: z.string().default('239.255.255.250'),
      port: z.number().int().min(1).max(65535).default(3702),
      timeoutMs: z.number().int().min(100).default(3_000),
    })
    .prefault({}),
});

export type CameraConfig = z.infer<typeof cameraConfig>;
export type CamerasConfig = z.infer<typeof camerasConfig>;
