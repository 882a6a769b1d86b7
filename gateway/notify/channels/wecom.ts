/**
 * WeCom (企业微信). `wecom-app`: an application message to one user (GET /cgi-bin/gettoken?corpid&corpsecret, then
 * POST /cgi-bin/message/send?access_token=…); the token is cached until shortly before `expires_in` and fetched
 * again when WeCom says it is invalid or expired (40014, 42001), since WeCom may revoke it early. `wecom-bot`: a
 * group robot's webhook (POST /cgi-bin/webhook/send?key=…), at most 20 messages a minute, for staff digests.
 */
import type { NotifyChannelOf as Cfg } from '../../../config/notify.js';
import { jsonOf, request, retryableStatus, SecretFileChannel, shortReason, type Channel, type OutgoingMessage, type SendResult } from './types.js';
import { WECOM_USER_ID } from '../../guardians/schema.js';

/** -1 system busy; 45009 API frequency limit; 45033 too many concurrent calls. */
const RETRY = new Set([-1, 45009, 45033]);
const TOKEN_INVALID = new Set([40014, 42001, 41001]);

const joinUrl = (base: string, path: string): string => `${base.replace(/\/+$/, '')}${path}`;

function classify(res: { status: number; text: string }): SendResult {
  const j = jsonOf(res.text);
  const code = typeof j?.errcode === 'number' ? j.errcode : null;
  if (code === 0) return { ok: true };
  const reason = shortReason(code === null ? `HTTP ${res.status}: ${res.text}` : `errcode ${code}: ${String(j?.errmsg ?? '')}`);
  return { ok: false, retry: code === null ? retryableStatus(res.status) : RETRY.has(code), reason };
}

export class WecomAppChannel extends SecretFileChannel<Cfg<'wecom-app'>> implements Channel {
  readonly type = 'wecom-app';
  private token: { value: string; until: number } | null = null;
  private fetching: Promise<{ token: string } | SendResult> | null = null;
  /** Times a token was fetched: a test (and the metrics) can see it is cached. */
  tokenFetches = 0;

  constructor(cfg: Cfg<'wecom-app'>) {
    super(cfg, cfg.corpSecretFile);
  }
  recipient = (g: { wecomUser: string | null }): string | null => g.wecomUser;

  private async fetchToken(): Promise<{ token: string } | SendResult> {
    this.tokenFetches++;
    const url = `${joinUrl(this.cfg.baseUrl, '/cgi-bin/gettoken')}?corpid=${encodeURIComponent(this.cfg.corpId)}&corpsecret=${encodeURIComponent(this.secret)}`;
    const res = await request(url, { method: 'GET' }, this.cfg.timeoutMs);
    if (!res.ok) return res;
    const j = jsonOf(res.text);
    if (j?.errcode === 0 && typeof j.access_token === 'string') {
      const ttlS = typeof j.expires_in === 'number' ? j.expires_in : 7200;
      // Renewed five minutes early: a token that expires in flight costs a retry.
      this.token = { value: j.access_token, until: Date.now() + Math.max(60, ttlS - 300) * 1000 };
      return { token: j.access_token };
    }
    const r = classify(res);
    return r.ok ? { ok: false, retry: true, reason: 'gettoken answered no access_token' } : { ...r, reason: `gettoken: ${r.reason}` };
  }

  private async accessToken(): Promise<{ token: string } | SendResult> {
    if (this.token && Date.now() < this.token.until) return { token: this.token.value };
    // One fetch at a time: a burst must not hit gettoken once per message (WeCom throttles it).
    this.fetching ??= this.fetchToken().finally(() => (this.fetching = null));
    return this.fetching;
  }

  async send(m: OutgoingMessage): Promise<SendResult> {
    if (!m.to) return { ok: false, retry: false, reason: 'no WeCom user id for this guardian' };
    // Checked again here for rows stored before the API refused them: `@all` or `a|b` in touser reaches every member
    // of the application, or several, with a message about one child.
    if (!WECOM_USER_ID.test(m.to)) return { ok: false, retry: false, reason: `${JSON.stringify(m.to.slice(0, 64))} is not a WeCom user id (a letter or digit first, then letters, digits and _-@.); set the guardian's wecomUser again` };
    for (let attempt = 0; attempt < 2; attempt++) {
      const t = await this.accessToken();
      if (!('token' in t)) return t;
      const url = `${joinUrl(this.cfg.baseUrl, '/cgi-bin/message/send')}?access_token=${encodeURIComponent(t.token)}`;
      const body = JSON.stringify({ touser: m.to, msgtype: 'text', agentid: this.cfg.agentId, text: { content: m.text }, safe: 0 });
      const res = await request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body }, this.cfg.timeoutMs);
      if (!res.ok) return res;
      const j = jsonOf(res.text);
      if (typeof j?.errcode === 'number' && TOKEN_INVALID.has(j.errcode) && attempt === 0) {
        this.token = null;
        continue;
      }
      const r = classify(res);
      if (r.ok && typeof j?.invaliduser === 'string' && j.invaliduser !== '') return { ok: false, retry: false, reason: `invalid user: ${shortReason(j.invaliduser)}` };
      return r;
    }
    return { ok: false, retry: true, reason: 'access token refused twice' };
  }
}

export class WecomBotChannel extends SecretFileChannel<Cfg<'wecom-bot'>> implements Channel {
  readonly type = 'wecom-bot';
  constructor(cfg: Cfg<'wecom-bot'>) {
    super(cfg, cfg.keyFile);
  }
  /** A group: every message goes to the webhook's group. */
  recipient = (): string | null => 'group';

  async send(m: OutgoingMessage): Promise<SendResult> {
    const url = `${joinUrl(this.cfg.baseUrl, '/cgi-bin/webhook/send')}?key=${encodeURIComponent(this.secret)}`;
    const body = JSON.stringify({ msgtype: 'text', text: { content: m.text } });
    const res = await request(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body }, this.cfg.timeoutMs);
    return res.ok ? classify(res) : res;
  }
}
