import { z } from 'zod';
import { timeOfDay } from './common.js';

export const NOTIFY_EVENTS = ['arrival', 'departure', 'absent', 'late', 'low_balance', 'card_lost', 'emergency'] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];
/** What an outbox row can be: an event, or a test message an admin sends to one guardian from the console. */
export const MESSAGE_KINDS = [...NOTIFY_EVENTS, 'test'] as const;
export type MessageKind = (typeof MESSAGE_KINDS)[number];

const channelId = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'lower-case letters, digits, "_" or "-"');
/** Per channel: messages a minute and the burst allowed at once (a WeCom bot takes 20 a minute). */
const rate = {
  ratePerMin: z.number().positive().max(60_000).default(600),
  burst: z.number().int().positive().max(10_000).optional(),
  timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
};
const baseUrl = (url: string) => z.string().url().default(url);
/** A channel's config: its id and type, what its kind needs, and its rate limits. */
const channel = <T extends string, S extends z.ZodRawShape>(type: T, shape: S) =>
  z.strictObject({ id: channelId, type: z.literal(type), ...rate, ...shape });
/** The provider's template id per event (SMS providers send only approved templates). */
const templateIds = z.partialRecord(z.enum(MESSAGE_KINDS), z.string().min(1).max(64)).default({});
/** Order of the template's parameters for providers that take a list (Tencent): names from the message's fields. */
const paramNames = z.array(z.enum(['school', 'student', 'time', 'gate', 'balance', 'text'])).max(10);
/** What both SMS providers need: the approved signature (签名) and the approved template per event. */
const sms = { signName: z.string().min(1), templates: templateIds };

export const notifyChannelConfig = z.discriminatedUnion('type', [
  channel('mqtt', { topic: z.string().regex(/^[^#+]+$/).default('campus/notify/out') }),
  channel('http', {
    url: z.string().url(),
    method: z.enum(['POST', 'PUT', 'GET']).default('POST'),
    headers: z.record(z.string(), z.string()).default({}),
    body: z.string().max(8192).default('{"to":"{to}","text":"{text}","event":"{event}","id":"{id}"}')
      .meta({ description: '`{to}`, `{text}`, `{event}`, `{student}`, `{school}`, `{time}`, `{gate}`, `{language}`, `{id}`: JSON-escaped in a JSON body.' }),
    headerFiles: z.record(z.string(), z.string()).default({})
      .meta({ description: 'Header values from files (a token), e.g. `{ "authorization": "/etc/campus/notify-token" }`, read at start.' }),
    successContains: z.string().optional().meta({ description: 'Success: a 2xx status, and when set the body contains this text.' }),
  }),
  channel('sms-aliyun', {
    baseUrl: baseUrl('https://dysmsapi.aliyuncs.com/'),
    accessKeyId: z.string().min(1),
    accessKeySecretFile: z.string().min(1),
    regionId: z.string().default('cn-hangzhou'),
    ...sms,
  }),
  channel('sms-tencent', {
    baseUrl: baseUrl('https://sms.tencentcloudapi.com/'),
    secretId: z.string().min(1),
    secretKeyFile: z.string().min(1),
    region: z.string().default('ap-guangzhou'),
    sdkAppId: z.string().min(1),
    ...sms,
    params: z.partialRecord(z.enum(MESSAGE_KINDS), paramNames).default({}),
  }),
  channel('wecom-app', {
    baseUrl: baseUrl('https://qyapi.weixin.qq.com'),
    corpId: z.string().min(1),
    corpSecretFile: z.string().min(1),
    agentId: z.number().int().nonnegative(),
  }),
  channel('wecom-bot', {
    baseUrl: baseUrl('https://qyapi.weixin.qq.com'),
    keyFile: z.string().min(1).meta({ description: 'The webhook\'s key (the `key=` of its URL), in a file.' }),
    ratePerMin: z.number().positive().max(20).default(20),
    burst: z.number().int().positive().max(20).default(20),
  }),
  /** The demo's message sink: kept in the outbox as sent, shown in the delivery log, sent nowhere. */
  channel('sink', {}),
]);
export type NotifyChannelConfig = z.infer<typeof notifyChannelConfig>;
/** The config of one kind of channel. */
export type NotifyChannelOf<T extends NotifyChannelConfig['type']> = Extract<NotifyChannelConfig, { type: T }>;

const eventConfig = (ttlS: number) =>
  z.strictObject({ enabled: z.boolean().default(true), ttlS: z.number().int().positive().max(7 * 86_400).default(ttlS) }).prefault({});

const templateText = z.string().min(1).max(500);
const languageTemplates = z.strictObject({ zh: templateText.optional(), ko: templateText.optional(), en: templateText.optional() });

export const notifyConfig = z.strictObject({
  enabled: z.boolean().default(false),
  secretKey: z.string().min(16).optional()
    .meta({ description: 'Seals guardians\' mobile numbers (AES-256-GCM, as camera passwords): 64 hex digits or a passphrase. Falls back to cameras.secretKey; env CAMPUS_NOTIFY_KEY. Losing it loses the numbers.' }),
  guardianChannel: z.string().optional().meta({ description: 'Channel id for messages to guardians.' }),
  staffChannel: z.string().optional().meta({ description: 'Channel id for staff digests (a class\'s absences), typically a wecom-bot.' }),
  studentName: z.enum(['full', 'given']).default('full')
    .meta({ description: 'How a message names the student: the whole name, or the given name (Chinese names: all but the first character).' }),
  quietHours: z.strictObject({ from: timeOfDay, to: timeOfDay }).optional()
    .meta({ description: 'No messages between these local times (emergency excepted): they are suppressed, not delayed.' }),
  departure: z.enum(['after_last_lesson', 'every_exit']).default('after_last_lesson')
    .meta({ description: '`after_last_lesson`: the first exit after `lastLessonEnd`; `every_exit`: each exit.' }),
  lastLessonEnd: timeOfDay.default('16:30'),
  absentGraceMin: z.number().int().nonnegative().max(240).default(15)
    .meta({ description: 'Absent: not arrived by the schedule group\'s cut-off plus this many minutes, and not excused.' }),
  lowBalanceFen: z.number().int().nonnegative().default(1000)
    .meta({ description: 'A debit that leaves less than this (fen) sends `low_balance`, at most once a day.' }),
  events: z
    .strictObject({
      arrival: eventConfig(1800),
      departure: eventConfig(1800),
      absent: eventConfig(7200),
      late: eventConfig(1800),
      low_balance: eventConfig(43_200),
      card_lost: eventConfig(7200),
      emergency: eventConfig(3600),
    })
    .prefault({}),
  templates: z.partialRecord(z.enum(MESSAGE_KINDS), languageTemplates).default({})
    .meta({ description: 'Overrides of the built-in texts (gateway/notify/templates.ts), per event and language.' }),
  channels: z.array(notifyChannelConfig).default([]),
  retry: z.strictObject({ initialMs: z.number().int().positive().default(2000), maxMs: z.number().int().positive().default(300_000) }).prefault({}),
  failingAlertAfterS: z.number().int().positive().default(600)
    .meta({ description: 'A channel failing this long without a success raises `notify_failing`.' }),
  pollMs: z.number().int().min(50).max(60_000).default(1000)
    .meta({ description: 'How often queued messages are looked at when nothing nudges the sender.' }),
  maxSentUnrecorded: z.number().int().positive().max(1_000_000).default(10_000)
    .meta({ description: 'Messages a provider took whose "sent" the database refused (a full disk), kept in memory at most (~100 B each); at the bound only emergencies are sent until some are recorded.' }),
});
export type NotifyConfig = z.infer<typeof notifyConfig>;
