/**
 * Node-RED's `adminAuth` backed by the gateway's own users, so school IT has one set of accounts:
 * admin → everything ('*'), security → read-only ('read'), viewer → no access at all.
 * The admin API also takes a gateway session token, or an API token from config (for deploying flows from git).
 */
import { createHash } from 'node:crypto';
import type { Counter } from 'prom-client';
import type { FlowAdminToken } from '../../config/node-red.js';
import { verifySecret } from '../auth/secrets.js';
import type { Role, UserStore } from '../auth/users.js';

/** The user object Node-RED's editor-api expects. */
export interface NodeRedUser {
  username: string;
  permissions: '*' | 'read';
}

export interface NodeRedAdminAuth {
  type: 'credentials';
  users(username: string): Promise<NodeRedUser | null>;
  authenticate(username: string, password: string): Promise<NodeRedUser | null>;
  tokens(token: string): Promise<NodeRedUser | null>;
  tokenHeader: 'authorization';
}

export function permissionsFor(role: Role): NodeRedUser['permissions'] | null {
  if (role === 'admin') return '*';
  if (role === 'security') return 'read';
  return null;
}

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

export function gatewayAdminAuth(deps: {
  users: UserStore;
  adminTokens: FlowAdminToken[];
  /** Counted by outcome: login_ok, login_refused, token_ok, token_refused. */
  attempts: Counter<'outcome'>;
}): NodeRedAdminAuth {
  const { users, adminTokens, attempts } = deps;
  // Verified API tokens by sha256, so the scrypt check runs once per token and not on every admin request.
  const verified = new Map<string, NodeRedUser>();

  const userFor = (username: string, role: Role): NodeRedUser | null => {
    const permissions = permissionsFor(role);
    return permissions ? { username, permissions } : null;
  };

  return {
    type: 'credentials',
    tokenHeader: 'authorization',
    // Looked up on every request with an editor token, so a changed role or a removed user takes effect at once.
    async users(username) {
      const u = users.list().find((x) => x.username === username);
      return u ? userFor(u.username, u.role) : null;
    },
    async authenticate(username, password) {
      const role = await users.verify(username, password);
      const user = role ? userFor(username, role) : null;
      attempts.inc({ outcome: user ? 'login_ok' : 'login_refused' });
      return user;
    },
    async tokens(token) {
      const session = users.session(token);
      if (session) return userFor(session.username, session.role);
      const key = sha256(token);
      const known = verified.get(key);
      if (known) return known;
      for (const t of adminTokens) {
        if (await verifySecret(token, t.secretHash)) {
          const user: NodeRedUser = { username: `token:${t.name}`, permissions: t.permissions === 'admin' ? '*' : 'read' };
          verified.set(key, user);
          attempts.inc({ outcome: 'token_ok' });
          return user;
        }
      }
      attempts.inc({ outcome: 'token_refused' });
      return null;
    },
  };
}
