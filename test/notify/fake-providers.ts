/**
 * Fake SMS and WeCom providers on one loopback HTTP server. Each checks a request the way its public documentation
 * says the real one does, with its own implementation (none of the gateway's signing code): Alibaba Cloud's RPC
 * signature (HMAC-SHA1 over the canonicalised query), Tencent Cloud's TC3-HMAC-SHA256, WeCom's access token and the
 * group bot's key. A `mode` makes it answer as a provider in trouble: throttling, 5xx, a bad number, or no answer.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Mode = 'ok' | 'throttle' | '5xx' | 'bad_number' | 'timeout' | 'flood';

export interface Accepted {
  provider: 'aliyun' | 'tencent' | 'wecom-app' | 'wecom-bot' | 'http';
  to: string;
  template?: string;
  params?: unknown;
  text?: string;
  ref?: string;
}

export const CREDENTIALS = {
  aliyun: { accessKeyId: 'LTAI-test-key', secret: 'aliyun-test-secret' },
  tencent: { secretId: 'AKID-test', secretKey: 'tencent-test-secret', sdkAppId: '1400000001' },
  wecom: { corpId: 'ww-test-corp', corpSecret: 'wecom-test-secret', agentId: 1000002, botKey: 'bot-key-0001' },
};

/** RFC 3986 unreserved characters stay, everything else is %XX of its UTF-8 bytes (Alibaba Cloud's rule). */
function popEncode(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9\-_.~]/.test(c) ? c : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

const body = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve) => {
    let s = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (s += d));
    req.on('end', () => resolve(s));
  });

export class FakeProviders {
  private server!: Server;
  mode: Mode = 'ok';
  /** Numbers at the provider's limit per number (Aliyun's isv.BUSINESS_LIMIT_CONTROL), whatever the mode. */
  readonly limitedNumbers = new Set<string>();
  /** Numbers answered as invalid whatever the mode. */
  readonly badNumbers = new Set<string>();
  readonly accepted: Accepted[] = [];
  /** Every well-signed SendSms the Aliyun fake took a template from, whatever it answered. */
  readonly aliyunTemplates: string[] = [];
  /** Requests refused for a bad signature, key or token, with why. */
  readonly refused: { provider: string; why: string }[] = [];
  requests = 0;
  tokenFetches = 0;
  private readonly tokens = new Set<string>();
  private readonly nonces = new Set<string>();
  private readonly held: ServerResponse[] = [];
  base = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const r of this.held) r.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** WeCom revokes tokens early now and then; the client must fetch a new one. */
  revokeTokens(): void {
    this.tokens.clear();
  }

  private json(res: ServerResponse, status: number, v: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(v));
  }

  /** Bytes of the last `flood` answer the client took before it stopped reading. */
  floodSent = 0;

  /** A 500 whose body never ends (200 MB, written as fast as the client reads): a provider or a proxy gone wrong. */
  private flood(res: ServerResponse): void {
    this.floodSent = 0;
    res.writeHead(500, { 'content-type': 'text/plain' });
    const chunk = Buffer.alloc(1024 * 1024, 'a');
    const more = (): void => {
      while (this.floodSent < 200 * 1024 * 1024 && !res.destroyed) {
        this.floodSent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', more);
      }
      res.end();
    };
    res.on('close', () => res.removeAllListeners('drain'));
    more();
  }

  /** The mode's answer before the provider looks at the request; true when it answered. */
  private trouble(res: ServerResponse, throttled: () => void): boolean {
    if (this.mode === 'timeout') {
      this.held.push(res);
      return true;
    }
    if (this.mode === '5xx') {
      this.json(res, 503, { message: 'service unavailable' });
      return true;
    }
    if (this.mode === 'flood') {
      this.flood(res);
      return true;
    }
    if (this.mode === 'throttle') {
      throttled();
      return true;
    }
    return false;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.requests++;
    const url = new URL(req.url ?? '/', this.base);
    const text = await body(req);
    if (url.pathname === '/aliyun/') return this.aliyun(req, res, text);
    if (url.pathname === '/tencent/') return this.tencent(req, res, text);
    if (url.pathname === '/wecom/cgi-bin/gettoken') return this.gettoken(url, res);
    if (url.pathname === '/wecom/cgi-bin/message/send') return this.wecomSend(url, res, text);
    if (url.pathname === '/wecom/cgi-bin/webhook/send') return this.botSend(url, res, text);
    if (url.pathname === '/http/send') return this.http(req, res, text);
    this.json(res, 404, { error: 'no such path' });
  }

  private aliyun(req: IncomingMessage, res: ServerResponse, text: string): void {
    const p = Object.fromEntries(new URLSearchParams(text));
    const refuse = (code: string, why: string): void => {
      this.refused.push({ provider: 'aliyun', why });
      this.json(res, 400, { Code: code, Message: why, RequestId: 'r' });
    };
    if (req.method !== 'POST' || !(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) return refuse('InvalidParameter', 'expected a form POST');
    const { Signature: signature, ...params } = p;
    if (params.AccessKeyId !== CREDENTIALS.aliyun.accessKeyId) return refuse('InvalidAccessKeyId.NotFound', 'unknown AccessKeyId');
    const canonical = Object.keys(params).sort().map((k) => `${popEncode(k)}=${popEncode(params[k]!)}`).join('&');
    const expected = createHmac('sha1', `${CREDENTIALS.aliyun.secret}&`).update(`POST&${popEncode('/')}&${popEncode(canonical)}`).digest('base64');
    if (signature !== expected) return refuse('SignatureDoesNotMatch', 'signature does not match');
    for (const [k, v] of Object.entries({ Action: 'SendSms', Version: '2017-05-25', SignatureMethod: 'HMAC-SHA1', SignatureVersion: '1.0', Format: 'JSON' })) {
      if (params[k] !== v) return refuse('InvalidParameter', `${k} must be ${v}`);
    }
    if (!params.Timestamp || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(params.Timestamp) || Math.abs(Date.parse(params.Timestamp) - Date.now()) > 15 * 60_000) {
      return refuse('InvalidTimeStamp.Expired', 'timestamp missing or off by more than 15 minutes');
    }
    if (!params.SignatureNonce || this.nonces.has(params.SignatureNonce)) return refuse('SignatureNonceUsed', 'nonce missing or used before');
    this.nonces.add(params.SignatureNonce);
    if (!params.SignName || !params.TemplateCode) return refuse('MissingParameter', 'SignName and TemplateCode are required');
    let templateParams: unknown;
    try {
      templateParams = JSON.parse(params.TemplateParam ?? '{}');
    } catch {
      return refuse('isv.INVALID_JSON_PARAM', 'TemplateParam is not JSON');
    }
    this.aliyunTemplates.push(params.TemplateCode);
    if (this.trouble(res, () => this.json(res, 200, { Code: 'Throttling.User', Message: 'Request was denied due to user flow control.', RequestId: 'r' }))) return;
    const to = params.PhoneNumbers ?? '';
    // Aliyun's limit per number (so many a minute, an hour): that number only.
    if (this.limitedNumbers.has(to)) return this.json(res, 200, { Code: 'isv.BUSINESS_LIMIT_CONTROL', Message: '触发分钟级流控Permits:1', RequestId: 'r' });
    if (this.mode === 'bad_number' || this.badNumbers.has(to) || !/^1\d{10}$/.test(to)) {
      return this.json(res, 200, { Code: 'isv.MOBILE_NUMBER_ILLEGAL', Message: `非法手机号 ${to}`, RequestId: 'r' });
    }
    const ref = randomBytes(6).toString('hex');
    this.accepted.push({ provider: 'aliyun', to, template: params.TemplateCode, params: templateParams, ref });
    this.json(res, 200, { Code: 'OK', Message: 'OK', BizId: ref, RequestId: 'r' });
  }

  private tencent(req: IncomingMessage, res: ServerResponse, payload: string): void {
    const refuse = (code: string, why: string): void => {
      this.refused.push({ provider: 'tencent', why });
      this.json(res, 200, { Response: { Error: { Code: code, Message: why }, RequestId: 'r' } });
    };
    const h = req.headers;
    const m = /^TC3-HMAC-SHA256 Credential=([^/]+)\/(\d{4}-\d\d-\d\d)\/sms\/tc3_request, SignedHeaders=([a-z;-]+), Signature=([0-9a-f]{64})$/.exec(h.authorization ?? '');
    if (!m) return refuse('AuthFailure.SignatureFailure', 'malformed Authorization');
    const [, secretId, date, signedHeaders, signature] = m;
    if (secretId !== CREDENTIALS.tencent.secretId) return refuse('AuthFailure.SecretIdNotFound', 'unknown SecretId');
    const timestamp = Number(h['x-tc-timestamp']);
    if (!Number.isInteger(timestamp) || Math.abs(timestamp * 1000 - Date.now()) > 300_000) return refuse('AuthFailure.SignatureExpire', 'timestamp off by more than 5 minutes');
    if (new Date(timestamp * 1000).toISOString().slice(0, 10) !== date) return refuse('AuthFailure.SignatureFailure', 'credential date is not the timestamp\'s UTC date');
    if (h['x-tc-action'] !== 'SendSms' || h['x-tc-version'] !== '2021-01-11' || !h['x-tc-region']) return refuse('InvalidAction', 'X-TC-Action/Version/Region');
    const names = signedHeaders!.split(';');
    if (!names.includes('content-type') || !names.includes('host')) return refuse('AuthFailure.SignatureFailure', 'content-type and host must be signed');
    const canonicalHeaders = names.map((n) => `${n}:${String(h[n] ?? '').trim().toLowerCase()}\n`).join('');
    const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
    const canonical = `POST\n/\n\n${canonicalHeaders}\n${signedHeaders}\n${sha(payload)}`;
    const toSign = `TC3-HMAC-SHA256\n${timestamp}\n${date}/sms/tc3_request\n${sha(canonical)}`;
    const mac = (k: Buffer | string, s: string): Buffer => createHmac('sha256', k).update(s).digest();
    const key = mac(mac(mac(`TC3${CREDENTIALS.tencent.secretKey}`, date!), 'sms'), 'tc3_request');
    if (createHmac('sha256', key).update(toSign).digest('hex') !== signature) return refuse('AuthFailure.SignatureFailure', 'signature does not match');
    const b = JSON.parse(payload) as { PhoneNumberSet?: string[]; SmsSdkAppId?: string; SignName?: string; TemplateId?: string; TemplateParamSet?: string[] };
    if (b.SmsSdkAppId !== CREDENTIALS.tencent.sdkAppId || !b.TemplateId || !b.SignName || !Array.isArray(b.PhoneNumberSet)) return refuse('InvalidParameter', 'SmsSdkAppId, TemplateId, SignName, PhoneNumberSet');
    if (this.trouble(res, () => this.json(res, 200, { Response: { Error: { Code: 'RequestLimitExceeded', Message: 'request limit exceeded' }, RequestId: 'r' } }))) return;
    const to = b.PhoneNumberSet[0] ?? '';
    if (this.mode === 'bad_number' || this.badNumbers.has(to.replace(/^\+86/, '')) || !/^\+861\d{10}$/.test(to)) {
      return this.json(res, 200, { Response: { SendStatusSet: [{ SerialNo: '', PhoneNumber: to, Code: 'InvalidParameterValue.IncorrectPhoneNumber', Message: 'incorrect phone number' }], RequestId: 'r' } });
    }
    const ref = randomBytes(6).toString('hex');
    this.accepted.push({ provider: 'tencent', to, template: b.TemplateId, params: b.TemplateParamSet, ref });
    this.json(res, 200, { Response: { SendStatusSet: [{ SerialNo: ref, PhoneNumber: to, Fee: 1, Code: 'Ok', Message: 'send success' }], RequestId: 'r' } });
  }

  private gettoken(url: URL, res: ServerResponse): void {
    this.tokenFetches++;
    if (url.searchParams.get('corpid') !== CREDENTIALS.wecom.corpId || url.searchParams.get('corpsecret') !== CREDENTIALS.wecom.corpSecret) {
      this.refused.push({ provider: 'wecom-app', why: 'bad corpid/corpsecret' });
      return this.json(res, 200, { errcode: 40001, errmsg: 'invalid credential' });
    }
    const token = randomBytes(16).toString('hex');
    this.tokens.add(token);
    this.json(res, 200, { errcode: 0, errmsg: 'ok', access_token: token, expires_in: 7200 });
  }

  private wecomSend(url: URL, res: ServerResponse, text: string): void {
    if (!this.tokens.has(url.searchParams.get('access_token') ?? '')) return this.json(res, 200, { errcode: 42001, errmsg: 'access_token expired' });
    const b = JSON.parse(text) as { touser?: string; msgtype?: string; agentid?: number; text?: { content?: string } };
    if (b.msgtype !== 'text' || b.agentid !== CREDENTIALS.wecom.agentId || !b.touser || !b.text?.content) {
      this.refused.push({ provider: 'wecom-app', why: 'bad message shape' });
      return this.json(res, 200, { errcode: 40008, errmsg: 'invalid message type' });
    }
    if (this.trouble(res, () => this.json(res, 200, { errcode: 45009, errmsg: 'api freq out of limit' }))) return;
    if (this.mode === 'bad_number' || this.badNumbers.has(b.touser)) return this.json(res, 200, { errcode: 81013, errmsg: 'user & party & tag all invalid' });
    this.accepted.push({ provider: 'wecom-app', to: b.touser, text: b.text.content });
    this.json(res, 200, { errcode: 0, errmsg: 'ok', invaliduser: '', msgid: randomBytes(6).toString('hex') });
  }

  private botSend(url: URL, res: ServerResponse, text: string): void {
    if (url.searchParams.get('key') !== CREDENTIALS.wecom.botKey) {
      this.refused.push({ provider: 'wecom-bot', why: 'bad key' });
      return this.json(res, 200, { errcode: 93000, errmsg: 'invalid webhook url' });
    }
    const b = JSON.parse(text) as { msgtype?: string; text?: { content?: string } };
    if (b.msgtype !== 'text' || !b.text?.content) return this.json(res, 200, { errcode: 40008, errmsg: 'invalid message type' });
    if (this.trouble(res, () => this.json(res, 200, { errcode: 45009, errmsg: 'api freq out of limit' }))) return;
    this.accepted.push({ provider: 'wecom-bot', to: 'group', text: b.text.content });
    this.json(res, 200, { errcode: 0, errmsg: 'ok' });
  }

  private http(req: IncomingMessage, res: ServerResponse, text: string): void {
    if (req.headers.authorization !== 'Bearer http-test-token') {
      this.refused.push({ provider: 'http', why: 'bad token' });
      return this.json(res, 401, { error: 'unauthorized' });
    }
    if (this.trouble(res, () => this.json(res, 429, { error: 'slow down' }))) return;
    // JSON, or a form (as many SMS gateways take it): every `to` a form names is a number the message would go to.
    const form = /x-www-form-urlencoded/.test(req.headers['content-type'] ?? '') ? new URLSearchParams(text) : undefined;
    const b = form ? { to: form.getAll('to').join(','), text: form.get('text') ?? '' } : (JSON.parse(text) as { to: string; text: string });
    if (this.mode === 'bad_number' || this.badNumbers.has(b.to)) return this.json(res, 422, { error: 'bad number' });
    this.accepted.push({ provider: 'http', to: b.to, text: b.text });
    this.json(res, 200, { result: 'queued' });
  }
}
