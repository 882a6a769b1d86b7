import { readFileSync } from 'node:fs';
import type { MessageKind } from '../../../config/notify.js';
import type { GuardianLanguage } from '../../guardians/schema.js';
import type { MessageFields } from '../templates.js';
import { scrubNumbers } from '../scrub.js';

/** One message to one recipient, as a channel receives it. */
export interface OutgoingMessage {
  /** The outbox row id: providers that take a caller reference (Aliyun OutId, Tencent SessionContext) get it. */
  id: number;
  event: MessageKind;
  /** Normalised 11-digit mobile number, or a WeCom user id; null for a channel with one fixed recipient (a group bot). */
  to: string | null;
  language: GuardianLanguage;
  text: string;
  fields: MessageFields;
}

/**
 * What a provider answered. `retry`: worth trying again (timeouts, 5xx, throttling); otherwise given up (bad number,
 * template rejected) with the provider's reason kept. `recipientLimited`: the provider's limit for this one number
 * (so many a minute or an hour), not the channel's: only this message waits.
 */
export type SendResult = { ok: true; ref?: string } | { ok: false; retry: boolean; reason: string; recipientLimited?: boolean };

export interface Channel {
  readonly id: string;
  readonly type: string;
  /** Whether it can reach this recipient (an SMS channel needs a number, wecom-app a user id). */
  recipient(g: { phone: string | null; wecomUser: string | null }): string | null;
  send(m: OutgoingMessage): Promise<SendResult>;
}

/** What is read of a provider's answer: its JSON is a few hundred bytes. */
const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * The first `max` bytes of a body as text; the rest is never read. A provider (or whatever answers on a plain-HTTP
 * channel's address) sending 700 MB took the gateway's RSS from 200 MB to 1.6 GB when the whole body was read first
 * and cut after (an attacker review, 2026-12-06).
 */
async function textUpTo(res: Response, max: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size < max) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
  }
  if (size >= max) await reader.cancel().catch(() => {});
  return Buffer.concat(chunks).subarray(0, max).toString('utf8');
}

/** fetch with a deadline; network errors and timeouts are retryable failures, never throws. */
export async function request(
  url: string,
  init: RequestInit,
  timeoutMs: number,
): Promise<{ ok: true; status: number; text: string } | { ok: false; retry: true; reason: string }> {
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
    return { ok: true, status: res.status, text: await textUpTo(res, MAX_ANSWER_BYTES) };
  } catch (err) {
    const e = err as Error;
    return { ok: false, retry: true, reason: e.name === 'TimeoutError' ? `timeout after ${timeoutMs} ms` : `network: ${e.message}` };
  }
}

/** JSON from a provider's body, or null. */
export function jsonOf(text: string): Record<string, unknown> | null {
  try {
    const v = JSON.parse(text) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** A status that says try later: throttled or the provider's own trouble. */
export const retryableStatus = (status: number): boolean => status === 429 || status === 408 || status >= 500;

/** A provider's reason as kept in the outbox: short, one line. */
/** A provider's answer as a failed message keeps it: numbers masked first, so a cut never leaves part of one. */
export const shortReason = (s: string): string => scrubNumbers(s).replace(/\s+/g, ' ').slice(0, 300);

/**
 * A channel whose credential is a file (an SMS provider's secret key, a WeCom corp secret or bot key): read once at
 * start, trimmed, so a missing file fails the gateway's start rather than the first message.
 */
export abstract class SecretFileChannel<C extends { id: string }> {
  readonly id: string;
  protected readonly secret: string;
  constructor(
    protected readonly cfg: C,
    secretFile: string,
  ) {
    this.id = cfg.id;
    this.secret = readFileSync(secretFile, 'utf8').trim();
  }
}

