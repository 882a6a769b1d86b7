import { levelsMatch } from '../core/mqtt-port.js';

/** Topics only the gateway itself writes: decisions, commands, alerts, mirrored events, the city link. */
export const GATEWAY_ONLY_TOPICS = [
  'campus/events/#',
  'campus/alerts/#',
  'campus/readers/+/decision',
  'campus/readers/+/offline/result',
  'campus/gates/#',
  'campus/cards/#',
  'campus/actuators/#',
  'campus/notify/#',
  'campus/gateway/#',
  'city/#',
  '$SYS/#',
] as const;

export interface Grants {
  publish: string[];
  subscribe: string[];
}

/** Who a connected client is. `service` clients (integrations, external Node-RED) are trusted like the gateway. */
export type Identity =
  | { kind: 'device'; id: string; grants: Grants }
  | { kind: 'service'; id: string }
  | { kind: 'anonymous' };

const gatewayOnlyLevels = GATEWAY_ONLY_TOPICS.map((f) => f.split('/'));

export function isGatewayOnly(topic: string): boolean {
  const levels = topic.split('/');
  return gatewayOnlyLevels.some((f) => levelsMatch(f, levels));
}

/** Whether a granted filter covers every topic a requested subscription filter could match. */
export function filterCovers(granted: string, requested: string): boolean {
  const g = granted.split('/');
  const r = requested.split('/');
  for (let i = 0; i < g.length; i++) {
    const part = g[i];
    if (part === '#') return true;
    const req = r[i];
    if (req === undefined) return false;
    if (req === '#') return false;
    if (part === '+') continue;
    if (req === '+' || req !== part) return false;
  }
  return g.length === r.length;
}

export type Verdict = { ok: true } | { ok: false; reason: string };

export function mayPublish(who: Identity, topic: string): Verdict {
  if (who.kind === 'service') return { ok: true };
  if (topic.startsWith('$')) return { ok: false, reason: 'system topic' };
  if (isGatewayOnly(topic)) return { ok: false, reason: 'gateway-only topic' };
  if (who.kind === 'anonymous') return { ok: true };
  const levels = topic.split('/');
  return who.grants.publish.some((f) => levelsMatch(f.split('/'), levels)) ? { ok: true } : { ok: false, reason: 'outside own subtree' };
}

export function maySubscribe(who: Identity, filter: string): Verdict {
  if (who.kind === 'service' || who.kind === 'anonymous') return { ok: true };
  return who.grants.subscribe.some((g) => filterCovers(g, filter)) ? { ok: true } : { ok: false, reason: 'outside own subtree' };
}

const PIN_KEY = Buffer.from('"pin"');

/**
 * A tap as a client may see it: without the card holder's PIN. A canteen terminal sends the PIN in its tap to the
 * gateway, and the broker would otherwise pass it to every other client subscribed to the tap topic (a trusted
 * service, anyone in demo mode). Returns the payload to forward, or undefined to forward the original.
 */
export function tapWithoutPin(topic: string, payload: Buffer): Buffer | undefined {
  if (!topic.startsWith('campus/readers/') || !topic.endsWith('/tap') || !payload.includes(PIN_KEY)) return undefined;
  try {
    const body = JSON.parse(payload.toString('utf8')) as unknown;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return Buffer.alloc(0);
    const { pin: _pin, ...rest } = body as Record<string, unknown>;
    return Buffer.from(JSON.stringify(rest));
  } catch {
    // Not JSON but it names a PIN: forward nothing of it.
    return Buffer.alloc(0);
  }
}

