/**
 * Each channel against a fake provider on loopback that checks the request and its signature as the provider
 * documents them, and answers as a provider in trouble would.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { notifyChannelConfig } from '../../config/notify.js';
import { AliyunSmsChannel, TencentSmsChannel } from '../../gateway/notify/channels/sms.js';
import { HttpChannel } from '../../gateway/notify/channels/simple.js';
import type { OutgoingMessage } from '../../gateway/notify/channels/types.js';
import { WecomAppChannel, WecomBotChannel } from '../../gateway/notify/channels/wecom.js';
import { tempDir } from '../helpers/gateway.js';
import { CREDENTIALS, FakeProviders } from './fake-providers.js';

let fake: FakeProviders;
const dir = tempDir('campus-notify-');
const secret = (name: string, value: string): string => {
  const f = join(dir, name);
  writeFileSync(f, `${value}\n`);
  return f;
};

const message = (over: Partial<OutgoingMessage> = {}): OutgoingMessage => ({
  id: 7, event: 'arrival', to: '13800138000', language: 'zh', text: '【示范中学】李明已于07:31从正门进校。',
  fields: { school: '示范中学', student: '李明', time: '07:31', gate: '正门 Main gate' }, ...over,
});

beforeAll(async () => {
  fake = await new FakeProviders().start();
});
afterAll(async () => {
  await fake.stop();
});
beforeEach(() => {
  fake.mode = 'ok';
  fake.badNumbers.clear();
  fake.limitedNumbers.clear();
  fake.accepted.length = 0;
  fake.refused.length = 0;
});

describe('sms-aliyun (SendSms, signature HMAC-SHA1 over the canonicalised query)', () => {
  const make = (secretValue = CREDENTIALS.aliyun.secret, timeoutMs = 2000) =>
    new AliyunSmsChannel(notifyChannelConfig.parse({
      id: 'sms', type: 'sms-aliyun', baseUrl: `${fake.base}/aliyun/`, accessKeyId: CREDENTIALS.aliyun.accessKeyId,
      accessKeySecretFile: secret('aliyun', secretValue), signName: '示范中学', templates: { arrival: 'SMS_0001' }, timeoutMs,
    }) as never);

  it('sends a signed request the fake accepts, with the template and its parameters', async () => {
    expect(await make().send(message())).toMatchObject({ ok: true });
    expect(fake.refused).toEqual([]);
    expect(fake.accepted).toEqual([expect.objectContaining({ to: '13800138000', template: 'SMS_0001', params: { school: '示范中学', student: '李明', time: '07:31', gate: '正门 Main gate' } })]);
  });
  it('is refused with the wrong secret: the fake really checks the signature', async () => {
    const r = await make('not-the-secret').send(message());
    expect(r).toMatchObject({ ok: false, retry: false, reason: expect.stringContaining('SignatureDoesNotMatch') });
    expect(fake.accepted).toEqual([]);
  });
  it('retries on throttling, 5xx and timeouts; gives up on a bad number and a missing template', async () => {
    const ch = make(CREDENTIALS.aliyun.secret, 300);
    fake.mode = 'throttle';
    expect(await ch.send(message())).toMatchObject({ ok: false, retry: true, reason: expect.stringContaining('Throttling') });
    expect(await ch.send(message())).not.toHaveProperty('recipientLimited');
    fake.mode = 'ok';
    fake.limitedNumbers.add('13800138000');
    expect(await ch.send(message())).toMatchObject({ ok: false, retry: true, recipientLimited: true, reason: expect.stringContaining('isv.BUSINESS_LIMIT_CONTROL') });
    fake.limitedNumbers.clear();
    fake.mode = 'throttle';
    fake.mode = '5xx';
    expect(await ch.send(message())).toMatchObject({ ok: false, retry: true });
    fake.mode = 'timeout';
    expect(await ch.send(message())).toMatchObject({ ok: false, retry: true, reason: expect.stringContaining('timeout') });
    fake.mode = 'bad_number';
    expect(await ch.send(message())).toMatchObject({ ok: false, retry: false, reason: expect.stringContaining('isv.MOBILE_NUMBER_ILLEGAL') });
    fake.mode = 'ok';
    expect(await ch.send(message({ event: 'departure' }))).toMatchObject({ ok: false, retry: false, reason: expect.stringContaining('no template') });
  });
});

describe('sms-tencent (SendSms 2021-01-11, TC3-HMAC-SHA256)', () => {
  const make = (key = CREDENTIALS.tencent.secretKey) =>
    new TencentSmsChannel(notifyChannelConfig.parse({
      id: 'sms', type: 'sms-tencent', baseUrl: `${fake.base}/tencent/`, secretId: CREDENTIALS.tencent.secretId, secretKeyFile: secret('tencent', key),
      sdkAppId: CREDENTIALS.tencent.sdkAppId, signName: '示范中学', templates: { arrival: '100001', low_balance: '100002' }, timeoutMs: 2000,
    }) as never);

  it('sends a signed request the fake accepts, the parameters in the template order', async () => {
    expect(await make().send(message())).toMatchObject({ ok: true });
    expect(fake.refused).toEqual([]);
    expect(fake.accepted).toEqual([expect.objectContaining({ to: '+8613800138000', template: '100001', params: ['李明', '07:31', '正门 Main gate'] })]);
  });
  it('is refused with the wrong key', async () => {
    expect(await make('wrong-key').send(message())).toMatchObject({ ok: false, retry: false, reason: expect.stringContaining('AuthFailure.SignatureFailure') });
    expect(fake.accepted).toEqual([]);
  });
  it('retries on RequestLimitExceeded and 5xx; gives up on an incorrect number', async () => {
    const ch = make();
    fake.mode = 'throttle';
    expect(await ch.send(message())).toMatchObject({ ok: false, retry: true, reason: expect.stringContaining('RequestLimitExceeded') });
    fake.mode = '5xx';
    expect(await ch.send(message())).toMatchObject({ ok: false, retry: true });
    fake.mode = 'ok';
    fake.badNumbers.add('13800138000');
    expect(await ch.send(message())).toMatchObject({ ok: false, retry: false, reason: expect.stringContaining('IncorrectPhoneNumber') });
  });
});

describe('wecom-app (gettoken + message/send)', () => {
  const make = () =>
    new WecomAppChannel(notifyChannelConfig.parse({
      id: 'wx', type: 'wecom-app', baseUrl: `${fake.base}/wecom`, corpId: CREDENTIALS.wecom.corpId, corpSecretFile: secret('wecom', CREDENTIALS.wecom.corpSecret),
      agentId: CREDENTIALS.wecom.agentId, timeoutMs: 2000,
    }) as never);

  it('fetches the token once for many messages, and again when WeCom revokes it', async () => {
    const ch = make();
    const before = fake.tokenFetches;
    await Promise.all([1, 2, 3].map((i) => ch.send(message({ id: i, to: 'parent-li' }))));
    expect(fake.tokenFetches - before).toBe(1);
    fake.revokeTokens();
    expect(await ch.send(message({ id: 4, to: 'parent-li' }))).toMatchObject({ ok: true });
    expect(fake.tokenFetches - before).toBe(2);
    expect(fake.accepted.map((a) => a.to)).toEqual(['parent-li', 'parent-li', 'parent-li', 'parent-li']);
    expect(fake.accepted[0]!.text).toContain('李明');
  });
  it('retries on the frequency limit, gives up on an unknown user', async () => {
    const ch = make();
    fake.mode = 'throttle';
    expect(await ch.send(message({ to: 'parent-li' }))).toMatchObject({ ok: false, retry: true, reason: expect.stringContaining('45009') });
    fake.mode = 'bad_number';
    expect(await ch.send(message({ to: 'nobody' }))).toMatchObject({ ok: false, retry: false, reason: expect.stringContaining('81013') });
  });
});

describe('wecom-bot (group webhook)', () => {
  it('posts text to the webhook with its key; a wrong key is given up', async () => {
    const make = (key: string) =>
      new WecomBotChannel(notifyChannelConfig.parse({ id: 'bot', type: 'wecom-bot', baseUrl: `${fake.base}/wecom`, keyFile: secret(`bot-${key}`, key), timeoutMs: 2000 }) as never);
    expect(await make(CREDENTIALS.wecom.botKey).send(message({ to: null, text: '初一(1)班: 2 未到校' }))).toMatchObject({ ok: true });
    expect(fake.accepted).toEqual([{ provider: 'wecom-bot', to: 'group', text: '初一(1)班: 2 未到校' }]);
    expect(await make('wrong').send(message())).toMatchObject({ ok: false, retry: false, reason: expect.stringContaining('93000') });
  });
});

describe('http (a generic request template)', () => {
  it('fills the body template with JSON-escaped values and a token from a file; 429 retries, 422 gives up', async () => {
    const ch = new HttpChannel(notifyChannelConfig.parse({
      id: 'gw', type: 'http', url: `${fake.base}/http/send`, headerFiles: { authorization: secret('token', 'Bearer http-test-token') }, timeoutMs: 2000,
      successContains: 'queued',
    }) as never);
    const text = 'say "hi"\n';
    expect(await ch.send(message({ text }))).toMatchObject({ ok: true });
    expect(fake.accepted).toEqual([{ provider: 'http', to: '13800138000', text }]);
    fake.mode = 'throttle';
    expect(await ch.send(message())).toMatchObject({ ok: false, retry: true, reason: expect.stringContaining('429') });
    fake.mode = 'bad_number';
    expect(await ch.send(message())).toMatchObject({ ok: false, retry: false, reason: expect.stringContaining('422') });
  });

  it('reads at most 64 KiB of an answer: a body that never ends is not taken into memory', async () => {
    const ch = new HttpChannel(notifyChannelConfig.parse({
      id: 'gw', type: 'http', url: `${fake.base}/http/send`, headerFiles: { authorization: secret('token', 'Bearer http-test-token') }, timeoutMs: 20_000,
    }) as never);
    fake.mode = 'flood';
    const r = await ch.send(message());
    expect(r).toMatchObject({ ok: false, retry: true, reason: expect.stringContaining('500') });
    await new Promise((resolve) => setTimeout(resolve, 200));
    // What the kernel's and the client's buffers hold, not the 200 MB the whole body was.
    expect(fake.floodSent).toBeLessThan(32 * 1024 * 1024);
  });

  it('fills a form body with form-encoded values, so a text cannot add a number of its own', async () => {
    const ch = new HttpChannel(notifyChannelConfig.parse({
      id: 'form', type: 'http', url: `${fake.base}/http/send`, body: 'to={to}&text={text}',
      headers: { 'content-type': 'application/x-www-form-urlencoded' }, headerFiles: { authorization: secret('token', 'Bearer http-test-token') }, timeoutMs: 2000,
    }) as never);
    // A name from a roster, or a staff member's text: `&to=` in it was a second recipient.
    const text = '王小明 has arrived & is in class 1&to=13900139000';
    expect(await ch.send(message({ text }))).toMatchObject({ ok: true });
    expect(fake.accepted).toEqual([{ provider: 'http', to: '13800138000', text }]);
  });
});
