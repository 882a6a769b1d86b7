/**
 * Chinese SMS providers. Both send only a pre-approved template with a registered signature; the text varies only
 * through template parameters (the message's fields).
 *
 * - Alibaba Cloud SendSms (dysmsapi, Version 2017-05-25), RPC style with signature version 1.0 (HMAC-SHA1): the
 *   parameters sorted by name and percent-encoded (RFC 3986: space %20, `*` %2A, `~` kept) into the canonicalised
 *   query; StringToSign = `POST&%2F&` + percentEncode(canonicalised query); Signature = Base64(HMAC-SHA1(key =
 *   AccessKeySecret + "&", StringToSign)). Sent as a form body by POST, so numbers stay out of URLs and proxy logs.
 * - Tencent Cloud SendSms (Version 2021-01-11) with TC3-HMAC-SHA256: canonical request `POST\n/\n\n` + the signed
 *   headers content-type and host + the payload's SHA-256; string to sign `TC3-HMAC-SHA256\n<timestamp>\n<date>/sms/
 *   tc3_request\n<sha256(canonical request)>`; the key derived by HMAC-SHA256 over date, service and `tc3_request`
 *   from "TC3" + SecretKey.
 */
import { createHash, createHmac, randomUUID } from 'node:crypto';
import type { NotifyChannelOf as Cfg } from '../../../config/notify.js';
import { jsonOf, request, retryableStatus, SecretFileChannel, shortReason, type Channel, type OutgoingMessage, type SendResult } from './types.js';

/** RFC 3986 percent-encoding as Alibaba Cloud's RPC signature wants it. */
export function aliyunPercentEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function aliyunCanonicalQuery(params: Record<string, string>): string {
  return Object.keys(params)
    .sort()
    .map((k) => `${aliyunPercentEncode(k)}=${aliyunPercentEncode(params[k]!)}`)
    .join('&');
}

export function aliyunSignature(method: string, params: Record<string, string>, accessKeySecret: string): string {
  const toSign = `${method}&${aliyunPercentEncode('/')}&${aliyunPercentEncode(aliyunCanonicalQuery(params))}`;
  return createHmac('sha1', `${accessKeySecret}&`).update(toSign, 'utf8').digest('base64');
}

/** Codes that mean "later": the provider's throttling and its own faults. Anything else from the provider is final. */
const ALIYUN_RETRY = /^(Throttling|isv\.BUSINESS_LIMIT_CONTROL|isp\.SYSTEM_ERROR|ServiceUnavailable|InternalError|SignatureNonceUsed)/;
/** The limits per number (a minute, an hour): only that number's message waits, not the channel. */
const ALIYUN_RECIPIENT_LIMIT = /^isv\.BUSINESS_LIMIT_CONTROL/;

/** The provider's approved template for the message and the number, or why it cannot go by SMS. */
function templateOf(cfg: { id: string; templates: Partial<Record<OutgoingMessage['event'], string>> }, m: OutgoingMessage): { template: string; to: string } | SendResult {
  const template = cfg.templates[m.event];
  if (!template) return { ok: false, retry: false, reason: `no template for ${m.event} in notify.channels[${cfg.id}].templates` };
  if (!m.to) return { ok: false, retry: false, reason: 'no mobile number' };
  return { template, to: m.to };
}

/** What both providers share: a phone number as the recipient, and a message only through an approved template. */
abstract class SmsChannel<C extends { id: string; templates: Partial<Record<OutgoingMessage['event'], string>> }> extends SecretFileChannel<C> {
  recipient = (g: { phone: string | null }): string | null => g.phone;

  send(m: OutgoingMessage): Promise<SendResult> {
    const t = templateOf(this.cfg, m);
    return 'template' in t ? this.sendTemplate(m, t.template, t.to) : Promise.resolve(t);
  }

  protected abstract sendTemplate(m: OutgoingMessage, template: string, to: string): Promise<SendResult>;
}

/** The template's parameters: the message's fields that are set. */
const paramsOf = (m: OutgoingMessage): Record<string, string> =>
  Object.fromEntries(Object.entries(m.fields).filter((e): e is [string, string] => e[1] !== undefined));

export class AliyunSmsChannel extends SmsChannel<Cfg<'sms-aliyun'>> implements Channel {
  readonly type = 'sms-aliyun';
  constructor(cfg: Cfg<'sms-aliyun'>) {
    super(cfg, cfg.accessKeySecretFile);
  }

  protected async sendTemplate(m: OutgoingMessage, template: string, to: string): Promise<SendResult> {
    const params: Record<string, string> = {
      AccessKeyId: this.cfg.accessKeyId,
      Action: 'SendSms',
      Format: 'JSON',
      RegionId: this.cfg.regionId,
      SignatureMethod: 'HMAC-SHA1',
      SignatureNonce: randomUUID(),
      SignatureVersion: '1.0',
      Timestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      Version: '2017-05-25',
      PhoneNumbers: to,
      SignName: this.cfg.signName,
      TemplateCode: template,
      TemplateParam: JSON.stringify(paramsOf(m)),
      OutId: String(m.id),
    };
    const body = `${aliyunCanonicalQuery(params)}&Signature=${aliyunPercentEncode(aliyunSignature('POST', params, this.secret))}`;
    const res = await request(this.cfg.baseUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body }, this.cfg.timeoutMs);
    if (!res.ok) return res;
    const j = jsonOf(res.text);
    const code = typeof j?.Code === 'string' ? j.Code : null;
    if (code === 'OK') return { ok: true, ...(typeof j?.BizId === 'string' ? { ref: j.BizId } : {}) };
    const reason = shortReason(`${code ?? `HTTP ${res.status}`}: ${typeof j?.Message === 'string' ? j.Message : res.text}`);
    if (code && ALIYUN_RECIPIENT_LIMIT.test(code)) return { ok: false, retry: true, recipientLimited: true, reason };
    return { ok: false, retry: code ? ALIYUN_RETRY.test(code) : retryableStatus(res.status), reason };
  }
}

const sha256hex = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');
const hmac = (key: Buffer | string, s: string): Buffer => createHmac('sha256', key).update(s, 'utf8').digest();

/** TC3-HMAC-SHA256 `Authorization` for a JSON POST to `/`. */
export function tc3Authorization(o: { secretId: string; secretKey: string; service: string; host: string; timestamp: number; payload: string; contentType: string }): string {
  const date = new Date(o.timestamp * 1000).toISOString().slice(0, 10);
  const signedHeaders = 'content-type;host';
  const canonical = ['POST', '/', '', `content-type:${o.contentType}\nhost:${o.host}\n`, signedHeaders, sha256hex(o.payload)].join('\n');
  const scope = `${date}/${o.service}/tc3_request`;
  const toSign = ['TC3-HMAC-SHA256', String(o.timestamp), scope, sha256hex(canonical)].join('\n');
  const key = hmac(hmac(hmac(`TC3${o.secretKey}`, date), o.service), 'tc3_request');
  const signature = createHmac('sha256', key).update(toSign, 'utf8').digest('hex');
  return `TC3-HMAC-SHA256 Credential=${o.secretId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
}

/** Tencent's limits per number within 30 s and an hour (its daily ones are final for the day's message). */
const TENCENT_RECIPIENT_LIMIT = /^LimitExceeded\.PhoneNumber(ThirtySecond|OneHour)Limit$/;
const TENCENT_RETRY = /^(RequestLimitExceeded|InternalError|ResourceUnavailable|FailedOperation\.InsufficientBalanceInSmsPackage$)/;

export class TencentSmsChannel extends SmsChannel<Cfg<'sms-tencent'>> implements Channel {
  readonly type = 'sms-tencent';
  constructor(cfg: Cfg<'sms-tencent'>) {
    super(cfg, cfg.secretKeyFile);
  }

  protected async sendTemplate(m: OutgoingMessage, template: string, to: string): Promise<SendResult> {
    const names = this.cfg.params[m.event] ?? defaultParams(m.event);
    const payload = JSON.stringify({
      PhoneNumberSet: [`+86${to}`],
      SmsSdkAppId: this.cfg.sdkAppId,
      SignName: this.cfg.signName,
      TemplateId: template,
      TemplateParamSet: names.map((n) => m.fields[n] ?? ''),
      SessionContext: String(m.id),
    });
    const contentType = 'application/json; charset=utf-8';
    const host = new URL(this.cfg.baseUrl).host;
    const timestamp = Math.floor(Date.now() / 1000);
    const authorization = tc3Authorization({ secretId: this.cfg.secretId, secretKey: this.secret, service: 'sms', host, timestamp, payload, contentType });
    const res = await request(
      this.cfg.baseUrl,
      {
        method: 'POST',
        headers: {
          authorization, 'content-type': contentType, 'x-tc-action': 'SendSms', 'x-tc-version': '2021-01-11',
          'x-tc-timestamp': String(timestamp), 'x-tc-region': this.cfg.region,
        },
        body: payload,
      },
      this.cfg.timeoutMs,
    );
    if (!res.ok) return res;
    const r = jsonOf(res.text)?.Response as { Error?: { Code?: string; Message?: string }; SendStatusSet?: { Code?: string; Message?: string; SerialNo?: string }[] } | undefined;
    if (!r) return { ok: false, retry: retryableStatus(res.status), reason: shortReason(`HTTP ${res.status}: ${res.text}`) };
    const status = r.Error ?? r.SendStatusSet?.[0];
    if (!r.Error && status?.Code === 'Ok') return { ok: true, ...(r.SendStatusSet?.[0]?.SerialNo ? { ref: r.SendStatusSet[0].SerialNo } : {}) };
    const code = status?.Code ?? `HTTP ${res.status}`;
    if (TENCENT_RECIPIENT_LIMIT.test(code)) return { ok: false, retry: true, recipientLimited: true, reason: shortReason(`${code}: ${status?.Message ?? ''}`) };
    return { ok: false, retry: TENCENT_RETRY.test(code) || (!status && retryableStatus(res.status)), reason: shortReason(`${code}: ${status?.Message ?? ''}`) };
  }
}

/** Tencent templates take a list: by default the fields in the order the built-in texts use them. */
function defaultParams(event: OutgoingMessage['event']): ('school' | 'student' | 'time' | 'gate' | 'balance' | 'text')[] {
  switch (event) {
    case 'low_balance':
      return ['student', 'balance'];
    case 'absent':
    case 'card_lost':
      return ['student', 'time'];
    case 'emergency':
      return ['text'];
    case 'test':
      return ['student'];
    default:
      return ['student', 'time', 'gate'];
  }
}
