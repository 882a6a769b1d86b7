/** One example of every message and command, published beside the JSON Schemas in docs/city-contract/examples/. */
import { CONTRACT_VERSION, type Command, type DataOf, type Envelope, type MessageType, messageTypes, type Stream } from './contract.js';
import { loadPrivateKey, signCommand } from './signing.js';

const school = 'demo-school';
const alert: DataOf<'alert.raised'> = {
  alertId: '01K3Z8Q7M2N4P6R8T0V2W4X6Y8',
  type: 'card_lost',
  severity: 'warning',
  status: 'open',
  source: 'reader:demo-gate-in',
  summary: 'card_lost at main-gate',
  accessPoint: 'main-gate',
  zone: 'gate-main',
  count: 1,
  raisedAt: '2026-09-01T07:42:10.120Z',
  lastRaisedAt: '2026-09-01T07:42:10.120Z',
  acknowledgedAt: null,
  resolvedAt: null,
  acknowledgedBy: null,
  resolvedBy: null,
  snapshots: [{ id: 'snap-01K3Z8Q7N0', path: '/api/v1/snapshots/snap-01K3Z8Q7N0' }],
  details: { reason: 'card_lost', readerId: 'demo-gate-in', direction: 'in' },
};

const counts = (enrolled: number, present: number, late: number, excused: number, expected: number) => ({
  enrolled,
  present,
  late,
  absent: enrolled - present - late - excused - expected,
  excused,
  expected,
});

/** The demo school's one grade of two classes, with `expected` pupils of each class still on their way (none after the day). */
const grade7 = (expected: readonly [number, number]) => {
  const totals = counts(85, 76, 4, 1, expected[0] + expected[1]);
  const classes = [
    { class: '7-1', ...counts(42, 38, 2, 0, expected[0]) },
    { class: '7-2', ...counts(43, 38, 2, 1, expected[1]) },
  ];
  return { totals, grades: [{ grade: '7', ...totals, classes }] };
};

const attendance: DataOf<'attendance.intraday'> = {
  date: '2026-09-01',
  timezone: 'Asia/Shanghai',
  asOf: '2026-09-01T00:45:00.000Z',
  final: false,
  ...grade7([1, 1]),
};

export const dataExamples: { [T in MessageType]: DataOf<T> } = {
  'alert.raised': alert,
  // The clip reference is there only because this school set cloud.identifying.clips.
  'alert.updated': {
    ...alert,
    count: 3,
    lastRaisedAt: '2026-09-01T07:44:02.500Z',
    clips: [{ id: '01K3Z8QBXW5J8M3K9V0Q1R2S3T', path: '/api/v1/clips/01K3Z8QBXW5J8M3K9V0Q1R2S3T' }],
  },
  'alert.acknowledged': { ...alert, status: 'acknowledged', acknowledgedAt: '2026-09-01T07:45:00.000Z', acknowledgedBy: 'school' },
  'alert.resolved': {
    ...alert,
    status: 'resolved',
    acknowledgedAt: '2026-09-01T07:45:00.000Z',
    acknowledgedBy: 'school',
    resolvedAt: '2026-09-01T08:02:00.000Z',
    resolvedBy: 'school',
  },
  'attendance.intraday': attendance,
  'attendance.end-of-day': { ...attendance, asOf: '2026-09-01T10:30:00.000Z', final: true, ...grade7([0, 0]) },
  'environment.hourly': {
    hourStart: '2026-09-01T02:00:00.000Z',
    hourEnd: '2026-09-01T03:00:00.000Z',
    zones: [
      {
        zone: 'classroom-101',
        sensors: 1,
        metrics: {
          co2: { min: 620, max: 1840, avg: 1212.5, count: 60, unit: 'ppm' },
          temperature: { min: 23.1, max: 24.6, avg: 23.9, count: 60, unit: '°C' },
        },
      },
    ],
  },
  heartbeat: {
    status: 'ok',
    components: { db: { ok: true }, broker: { ok: true } },
    uptimeS: 86_400,
    versions: { gateway: '0.1.0', dbSchema: 52, contract: CONTRACT_VERSION, node: 'v20.20.2' },
    clock: { gatewayTime: '2026-09-01T02:00:00.000Z', timezone: 'Asia/Shanghai' },
    outbox: {
      depth: { alerts: 0, 'command-results': 0, attendance: 1, environment: 0, heartbeat: 1 },
      bytes: 2048,
      maxBytes: 536_870_912,
    },
    dropped: {
      expired: { alerts: 0, 'command-results': 0, attendance: 0, environment: 0, heartbeat: 12 },
      overflow: { alerts: 0, 'command-results': 0, attendance: 0, environment: 0, heartbeat: 0 },
      rejected: 0,
    },
    transport: { kind: 'mqtt', lastSuccessAt: '2026-09-01T01:59:00.000Z', lastError: null, insecure: false },
  },
  'command.result': {
    commandId: 'city-cmd-20260901-0007',
    commandType: 'lockdown.start',
    status: 'ok',
    detail: { lockdown: true },
    receivedAt: '2026-09-01T03:10:00.020Z',
    completedAt: '2026-09-01T03:10:00.031Z',
  },
};

const ids: Record<MessageType, string> = {
  'alert.raised': '01K3Z8Q7M3A0B1C2D3E4F5G6H7',
  'alert.updated': '01K3Z8Q7M3A0B1C2D3E4F5G6H8',
  'alert.acknowledged': '01K3Z8Q7M3A0B1C2D3E4F5G6H9',
  'alert.resolved': '01K3Z8Q7M3A0B1C2D3E4F5G6HA',
  'attendance.intraday': '01K3Z8Q7M3A0B1C2D3E4F5G6HB',
  'attendance.end-of-day': '01K3Z8Q7M3A0B1C2D3E4F5G6HC',
  'environment.hourly': '01K3Z8Q7M3A0B1C2D3E4F5G6HD',
  heartbeat: '01K3Z8Q7M3A0B1C2D3E4F5G6HE',
  'command.result': '01K3Z8Q7M3A0B1C2D3E4F5G6HF',
};

export function envelopeExample<T extends MessageType>(type: T): Envelope<T> {
  return {
    id: ids[type],
    schemaVersion: CONTRACT_VERSION,
    schoolId: school,
    stream: messageTypes[type].stream as Stream,
    type,
    occurredAt: '2026-09-01T07:42:10.120Z',
    sentAt: '2026-09-01T07:42:10.310Z',
    data: dataExamples[type],
  };
}

/**
 * The key the published examples and the test vectors of docs/city-contract/signing.md are signed with: the
 * key pair of RFC 8032 §7.1 TEST 1, public knowledge, so never a key to trust.
 */
export const EXAMPLE_SIGNING_KEY = {
  kid: 'rfc8032-test1-example',
  /** PKCS#8 of the RFC's secret key 9d61b19d…7f60. */
  privatePem: `-----BEGIN PRIVATE KEY-----\n${Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex')]).toString('base64')}\n-----END PRIVATE KEY-----\n`,
  /** The RFC's public key d75a9801…511a, as base64 of the raw 32 bytes. */
  publicRaw: Buffer.from('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', 'hex').toString('base64'),
};

const unsignedCommands = [
  { id: 'city-cmd-0001', schoolId: school, type: 'card.block', issuedAt: '2026-09-01T03:00:00Z', params: { externalId: 'S2026-0142', reason: 'reported stolen to the city hotline' } },
  { id: 'city-cmd-0002', schoolId: school, type: 'card.unblock', issuedAt: '2026-09-02T03:00:00Z', params: { externalId: 'S2026-0142' } },
  { id: 'city-cmd-0003', schoolId: school, type: 'lockdown.start', issuedAt: '2026-09-01T03:10:00Z', expiresAt: '2026-09-01T03:15:00Z', params: { reason: 'district drill' } },
  { id: 'city-cmd-0004', schoolId: school, type: 'lockdown.end', issuedAt: '2026-09-01T03:40:00Z', params: {} },
  { id: 'city-cmd-0005', schoolId: school, type: 'alert.ack', issuedAt: '2026-09-01T07:43:00Z', params: { alertId: '01K3Z8Q7M2N4P6R8T0V2W4X6Y8', note: 'police informed' } },
  { id: 'city-cmd-0006', schoolId: school, type: 'ping', issuedAt: '2026-09-01T00:00:00Z', params: {} },
];

/** Signed with EXAMPLE_SIGNING_KEY (Ed25519 is deterministic, so the files do not change between runs). */
export function commandExamples(): Command[] {
  const key = loadPrivateKey(EXAMPLE_SIGNING_KEY.privatePem);
  return unsignedCommands.map((c) => signCommand(c, key, EXAMPLE_SIGNING_KEY.kid) as unknown as Command);
}

/** A command.result for a command that was not executed. */
export const rejectedResultExample: Envelope<'command.result'> = {
  ...envelopeExample('command.result'),
  id: '01K3Z8Q7M3A0B1C2D3E4F5G6HG',
  data: {
    commandId: 'city-cmd-0009',
    commandType: 'lockdown.start',
    status: 'rejected',
    reason: 'stale',
    error: { code: 'stale', message: 'issued 912 s ago; the limit is 300 s' },
    receivedAt: '2026-09-01T03:25:12.020Z',
    completedAt: '2026-09-01T03:25:12.021Z',
  },
};
