import { levelsMatch } from '../core/mqtt-port.js';
import { topicFilters } from '../core/topics.js';

/** Topics only the gateway itself writes: decisions, commands, alerts, mirrored events, the city link. */
export const GATEWAY_ONLY_TOPICS = [
  topicFilters.events,
  topicFilters.alerts,
  topicFilters.readerDecisions,
  topicFilters.readerOfflineResults,
  topicFilters.gates,
  topicFilters.cards,
  topicFilters.actuators,
  topicFilters.notify,
  topicFilters.gateway,
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
