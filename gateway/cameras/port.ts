/**
 * The contract between the cameras domain and whatever talks to a camera (drivers/onvif for real devices,
 * its simulated sibling for the demo). The domain never imports a driver: the composition root hands it a
 * `CameraDriver`. Like gateway/core/taps.ts, drivers import these types, never the reverse.
 */

/** Why a camera call failed, as a stable code; the message names the likely cause for the person fixing it. */
export type CameraErrorCode =
  | 'unauthorized' // 401 or a NotAuthorized fault: wrong user/password, or clock skew beyond the camera's window
  | 'timeout' // connected (or tried to) and got no answer in time
  | 'refused' // nothing listens on that port
  | 'unreachable' // no route, DNS failure, host down
  | 'not_onvif' // something answered, but not ONVIF over HTTP (often the RTSP port)
  | 'malformed' // an answer we could not parse
  | 'fault' // a SOAP fault other than authorization
  | 'subscription_lost' // the PullPoint is gone (camera rebooted, subscription expired or cancelled)
  | 'not_jpeg' // the snapshot URI answered with something that is not a JPEG
  | 'too_large'
  | 'unsupported' // the camera does not offer this (no PTZ, no snapshot URI, no events)
  | 'closed'; // the session was closed while the call ran

export class CameraError extends Error {
  constructor(
    readonly code: CameraErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'CameraError';
  }
}

export function asCameraError(err: unknown): CameraError {
  if (err instanceof CameraError) return err;
  return new CameraError('malformed', err instanceof Error ? err.message : String(err));
}

/** Where and how to reach one camera; the password is already decrypted. */
export interface CameraEndpoint {
  id: string;
  host: string;
  port: number;
  devicePath: string;
  username?: string | undefined;
  password?: string | undefined;
  auth: 'auto' | 'digest';
  requestTimeoutMs: number;
  pullTimeoutMs: number;
  snapshotTimeoutMs: number;
  snapshotMaxBytes: number;
  /** Answer a Basic challenge (the password in clear) for snapshots; else Digest only (`cameras.basicAuth`). */
  basicAuth?: boolean | undefined;
  /** A SOAP reply larger than this is refused (too_large) before it is parsed. */
  maxReplyBytes: number;
  simulation?: { motionEveryS: number; offlineEveryS: number; offlineForS: number } | undefined;
}

export interface DeviceInfo {
  manufacturer: string;
  model: string;
  firmwareVersion: string;
  serialNumber: string;
}

export interface MediaProfile {
  token: string;
  name: string;
  /** RTSP URI, with no credentials in it. */
  rtspUri: string | null;
}

export interface CameraConnection {
  device: DeviceInfo;
  profiles: MediaProfile[];
  snapshotUri: string | null;
  /** Camera clock minus ours, as read with GetSystemDateAndTime and applied to WS-Security. */
  clockOffsetMs: number;
  ptz: boolean;
}

/** One ONVIF notification, flattened: `topic` without its namespace prefix. */
/** What a camera notification means to the school, whatever the vendor called it. */
export type CameraEventKind = 'motion' | 'tamper' | 'line_crossing' | 'field_crossing' | 'other';

export interface CameraNotification {
  topic: string;
  /** `Initialized` on (re)subscription, `Changed` when it happens, null for events that are not properties. */
  operation: 'Initialized' | 'Changed' | 'Deleted' | null;
  utcTime: string | null;
  source: Record<string, string>;
  data: Record<string, string>;
  /**
   * The driver's reading of the vendor's topic and data (vendors spell them differently): what happened, and
   * whether it is happening now (a property set) or has stopped.
   */
  kind: CameraEventKind;
  active: boolean;
}

/** How many notifications one pull asks a camera for (its MessageLimit); more in a reply are not read. */
export const PULL_MESSAGE_LIMIT = 20;

export interface PullResult {
  notifications: CameraNotification[];
  terminationTime: number | null;
  /** Unreadable notifications (no topic). */
  dropped: number;
  /** Notifications past PULL_MESSAGE_LIMIT in the reply, not read. */
  overLimit: number;
  clockOffsetMs: number | null;
}

export interface PullPointSubscription {
  /** When the camera will drop the subscription unless renewed (our clock). */
  terminationTime: number;
}

/**
 * A session with one camera. Every method settles within its configured timeout and never throws synchronously;
 * failures are `CameraError`s. Sessions hold no timers of their own between calls.
 */
export interface CameraSession {
  /** Reads the camera's clock (unauthenticated), then device information, profiles, stream and snapshot URIs. */
  connect(): Promise<CameraConnection>;
  /** The health poll: clock (re-applied to WS-Security) and one authenticated call. */
  check(): Promise<{ clockOffsetMs: number }>;
  snapshot(): Promise<Buffer>;
  gotoPreset(token: string): Promise<void>;
  subscribe(): Promise<PullPointSubscription>;
  /**
   * Waits for notifications (the camera holds the request while nothing happens). `dropped`: notifications that
   * arrived but could not be read (counted as bad input). `clockOffsetMs`: from the answer's `CurrentTime` (re-applied
   * to WS-Security), null when it has none.
   */
  pull(): Promise<PullResult>;
  renew(): Promise<PullPointSubscription>;
  /** Aborts whatever is in flight; later calls fail with `closed`. Subscriptions are left to expire. */
  close(): void;
}

export interface DiscoveredDevice {
  /** WS-Addressing endpoint reference (urn:uuid:…), stable per device. */
  urn: string;
  /** The address the reply came from. */
  address: string;
  xaddrs: string[];
  host: string | null;
  port: number | null;
  manufacturer: string | null;
  model: string | null;
  name: string | null;
  scopes: string[];
}

export interface DiscoveryOptions {
  address: string;
  port: number;
  timeoutMs: number;
  /** Called for each reply that is not a valid ProbeMatch (counted and logged by the caller). */
  onInvalid?: (from: string, reason: string) => void;
}

export interface CameraDriver {
  session(endpoint: CameraEndpoint, simulated: boolean): CameraSession;
  discover(opts: DiscoveryOptions): Promise<DiscoveredDevice[]>;
}
