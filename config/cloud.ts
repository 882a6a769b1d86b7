import { z } from 'zod';
import { ed25519KeyProblem } from './command-keys.js';
import { timeOfDay } from './common.js';

/** The streams the gateway sends to the city, highest priority first (the default priorities follow this order). */
export const cloudStreams = ['alerts', 'command-results', 'attendance', 'environment', 'heartbeat'] as const;
export type CloudStream = (typeof cloudStreams)[number];

const streamSettings = (priority: number, ttlH: number) =>
  z
    .object({
      priority: z.number().int().min(0).max(9).default(priority)
        .meta({ description: 'Lower sends first; an overflow drops from the highest number first.' }),
      ttlH: z.number().nonnegative().default(ttlH)
        .meta({ description: 'Rows older than this are dropped unsent (counted as `expired`); 0 keeps them until the byte cap.' }),
    })
    .prefault({});

/** A public key the city signs its commands with; `kid` is the name the city puts in each command. */
export const commandKeyConfig = z.strictObject({
  kid: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'letters, digits and _.:- (at most 64)'),
  publicKey: z.string().superRefine((text, ctx) => {
    const problem = ed25519KeyProblem(text);
    if (problem) ctx.addIssue({ code: 'custom', message: `not an Ed25519 public key: ${problem}` });
  })
    .meta({ description: 'PEM `-----BEGIN PUBLIC KEY-----` block, or the base64 of the raw 32-byte Ed25519 key.' }),
});

const isLoopback = (host: string): boolean => host === 'localhost' || host === '[::1]' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);

/**
 * What about this upstream an attacker on the path could exploit: a plaintext scheme to a host that is not this
 * machine, or TLS that accepts any certificate. Refused unless cloud.allowInsecure; reported in heartbeats and
 * /healthz when allowed.
 */
export function insecureUpstream(c: { upstreamUrl?: string | undefined; tls: { rejectUnauthorized: boolean } }): { path: string[]; message: string }[] {
  if (!c.upstreamUrl) return [];
  let u: URL;
  try {
    u = new URL(c.upstreamUrl);
  } catch {
    return [];
  }
  const out: { path: string[]; message: string }[] = [];
  if ((u.protocol === 'mqtt:' || u.protocol === 'http:') && !isLoopback(u.hostname)) {
    out.push({
      path: ['upstreamUrl'],
      message: `plaintext ${u.protocol}// to ${u.hostname}, which is not this machine: anyone on the path reads and alters what the school sends; use ${u.protocol === 'mqtt:' ? 'mqtts' : 'https'}://`,
    });
  }
  if (!c.tls.rejectUnauthorized) {
    out.push({ path: ['tls', 'rejectUnauthorized'], message: 'false accepts any certificate, so anyone on the path can pose as the city; give the city CA in tls.caFile instead' });
  }
  return out;
}

export const cloudConfig = z.strictObject({
  enabled: z.boolean().default(true),
  upstreamUrl: z
    .string()
    .url()
    .refine((u) => ['mqtt:', 'mqtts:', 'https:', 'http:'].includes(new URL(u).protocol), 'use mqtt://, mqtts:// or https://')
    .optional()
    .meta({ description: 'mqtts:// or https:// — also settable with CAMPUS_UPSTREAM_URL. Plaintext mqtt:// and http:// only to this machine (a local simulator, tests) unless allowInsecure. Credentials may be given in the URL (`mqtts://user:pass@host`). Unset: demo mode sends to a local simulated city sink.' }),
  topicTemplate: z.string().min(1).default('city/{districtId}/schools/{schoolId}/{stream}')
    .meta({ description: 'MQTT topic of each stream; `{districtId}` comes from school.districtId. Commands arrive on the same template with stream `commands`.' }),
  clientId: z.string().min(1).max(64).optional().meta({ description: 'MQTT client id at the city broker; default `campus-<schoolId>`.' }),
  mqttProtocolVersion: z.union([z.literal(4), z.literal(5)]).default(4).meta({ description: '4 = MQTT 3.1.1, 5 = MQTT 5.' }),
  keepaliveS: z.number().int().positive().default(30),
  tls: z
    .object({
      caFile: z.string().optional().meta({ description: 'PEM file of the CA that signed the city\'s server certificate (mqtts:// and https://).' }),
      certFile: z.string().optional().meta({ description: 'Client certificate and key (PEM) when the city authenticates schools by certificate.' }),
      keyFile: z.string().optional(),
      rejectUnauthorized: z.boolean().default(true),
    })
    .prefault({}),
  username: z.string().optional(),
  password: z.string().optional().meta({ description: 'Prefer passwordFile (one line) to keep the secret out of the config file.' }),
  passwordFile: z.string().optional(),
  commandKeys: z
    .array(commandKeyConfig)
    .max(16)
    .default([])
    .superRefine((keys, ctx) => {
      const seen = new Map<string, number>();
      keys.forEach((k, i) => {
        const first = seen.get(k.kid);
        if (first !== undefined) ctx.addIssue({ code: 'custom', path: [i, 'kid'], message: `"${k.kid}" is also commandKeys[${first}].kid` });
        else seen.set(k.kid, i);
      });
    })
    .meta({ description: 'The city\'s command-signing keys (several during a rotation). A command runs only when its Ed25519 signature verifies with the key named by its `kid`; with none configured every command from the upstream is rejected.' }),
  commandMaxAgeS: z.number().int().min(10).max(86_400).default(300)
    .meta({ description: 'A command issued longer ago than this is rejected as `stale` (and one issued more than 60 s ahead as `future`).' }),
  allowInsecure: z.boolean().default(false)
    .meta({ description: 'Accept an insecure upstream (plaintext mqtt:// or http:// to a non-loopback host, or tls.rejectUnauthorized: false). Off: check-config and start refuse such a config. On: every heartbeat and /healthz say the link is insecure.' }),
  identifying: z
    .object({
      alerts: z.boolean().default(false),
      attendance: z.boolean().default(false),
      commandResults: z.boolean().default(false),
      clips: z.boolean().default(false).meta({
        description:
          'Alerts carry references to their video clips (`clips[].path` on the gateway API, like snapshots; the video itself is not sent). Off: nothing of a clip leaves the school, not even that one exists.',
      }),
    })
    .prefault({})
    .meta({ description: 'Per-stream opt-in to data that identifies a student (names, card UIDs, external ids, clip references). Off by default.' }),
  streams: z
    .object({
      alerts: streamSettings(0, 0),
      'command-results': streamSettings(1, 24 * 7),
      attendance: streamSettings(2, 24 * 7),
      environment: streamSettings(3, 24 * 3),
      heartbeat: streamSettings(4, 1),
    })
    .prefault({}),
  outboxMaxBytes: z.number().int().positive().default(512 * 1024 * 1024)
    .meta({ description: 'Byte cap of the outbox; past it the oldest rows of the lowest-priority stream are dropped first (counted as `overflow`).' }),
  bandwidthBytesPerS: z.number().int().nonnegative().default(0)
    .meta({ description: 'Upstream bandwidth limit in bytes/s of envelope payload; 0 = unlimited.' }),
  attendanceIntervalMin: z.number().int().positive().default(15)
    .meta({ description: 'Intraday attendance summary every N minutes during the school day, and one at endOfDayAt.' }),
  attendanceDayStart: timeOfDay.default('06:00'),
  endOfDayAt: timeOfDay.default('18:30'),
  heartbeatIntervalS: z.number().positive().default(60),
  inflightWindow: z.number().int().min(1).max(60_000).default(2000).meta({ description: 'Messages in flight (sent, not yet confirmed) over MQTT.' }),
  pageSize: z.number().int().min(1).max(10_000).default(200).meta({
    description:
      'Outbox rows read per query. A batch reads on into the next page, so this does not cap a batch. Small pages keep what is read short-lived: draining a backlog over MQTT, pages of 1000 rows made the gateway ~10 % slower and ~12 MB larger than pages of 200.',
  }),
  http: z
    .object({
      batchMaxMessages: z.number().int().positive().default(500),
      batchMaxBytes: z.number().int().positive().default(512 * 1024),
      timeoutMs: z.number().int().positive().default(15_000),
      commandPollS: z.number().positive().default(15).meta({ description: 'How often the city is asked for commands over HTTPS.' }),
    })
    .prefault({}),
  backoff: z
    .object({
      initialMs: z.number().int().positive().default(500),
      maxMs: z.number().int().positive().default(60_000),
    })
    .prefault({}),
  housekeepingS: z.number().positive().default(10).meta({ description: 'How often TTL expiry and the byte cap are checked.' }),
  demoSinkSize: z.number().int().positive().default(200).meta({ description: 'Envelopes the demo city sink keeps for /api/v1/sync/demo-sink.' }),
}).superRefine((c, ctx) => {
  // Refused at load, so check-config and start both stop on it, naming the field.
  if (c.allowInsecure || !c.enabled) return;
  for (const p of insecureUpstream(c)) {
    ctx.addIssue({ code: 'custom', path: p.path, message: `${p.message} (or set cloud.allowInsecure: true to accept the risk)` });
  }
});

export type CloudConfig = z.infer<typeof cloudConfig>;
