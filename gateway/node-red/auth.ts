/**
 * Node-RED's `adminAuth` backed by the gateway's own users, so school IT has one set of accounts:
 * admin → everything ('*'), security → read-only ('read'), viewer → no access at all.
 * The admin API also takes a gateway session token, or an API token from config (for deploying flows from git).
 *
 * An editor login opens a gateway session and hands its token to the editor as the editor token (Node-RED uses a
 * `token` on the user that `authenticate` returns instead of minting its own). Node-RED's own tokens live in
 * `.sessions.json` for a week and know only a username, so they outlived a new password, a lowered role or a
 * removed user; a gateway session ends with any of those, with logout and with `http.sessionTtlH`, and every
 * editor request checks it again.
 */
import { createHash } from 'node:crypto';
import express, { type Request, type RequestHandler, type Router } from 'express';
import type { Counter } from 'prom-client';
import type { FlowAdminToken } from '../../config/node-red.js';
import type { Logger } from '../core/logger.js';
import { verifySecret } from '../auth/secrets.js';
import type { Role, UserStore } from '../auth/users.js';

/** The user object Node-RED's editor-api expects. */
export interface NodeRedUser {
  username: string;
  permissions: '*' | 'read';
  /** Set by an editor login: the gateway session token the editor uses as its token. */
  token?: string;
}

export interface NodeRedAdminAuth {
  type: 'credentials';
  users(username: string): Promise<NodeRedUser | null>;
  /**
   * A login: the user with a new session's token, or null. `allows` (the editor login's scope, editorLogin below)
   * refuses a user's permissions before any session is opened; Node-RED itself passes only the first two.
   */
  authenticate(username: string, password: string, allows?: (permissions: NodeRedUser['permissions']) => boolean): Promise<NodeRedUser | null>;
  tokens(token: string): Promise<NodeRedUser | null>;
  tokenHeader: 'authorization';
  /** Seconds; bounds any token Node-RED still mints itself (none with `authenticate` below) to a gateway session's life. */
  sessionExpiryTime: number;
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
  /** Counted by outcome: login_ok, login_refused, token_ok, token_refused, token_refused_known, token_busy. */
  attempts: Counter<'outcome'>;
  log: Logger;
}): NodeRedAdminAuth {
  const { users, adminTokens, attempts, log } = deps;
  // Verified API tokens by sha256, so the scrypt check runs once per token and not on every admin request.
  const verified = new Map<string, NodeRedUser>();
  // Tokens found wrong, by sha256 (bounded), and whether a check is running: anyone on the LAN can send made-up
  // tokens to /flows, and each check is an scrypt of 16 MB on a libuv thread. One check at a time; a token arriving
  // meanwhile is refused at once (a deploy script retries), a known-wrong one without a check.
  const refused = new Set<string>();
  let checking = false;

  const userFor = (username: string, role: Role): NodeRedUser | null => {
    const permissions = permissionsFor(role);
    return permissions ? { username, permissions } : null;
  };

  // Node-RED passes on whatever a client sent: the editor websocket's `{"auth": 1}` reached `tokens` as a number, the
  // session lookup threw, and the rejection (Node-RED's promise has no catch) took the process down.
  const text = (x: unknown): x is string => typeof x === 'string' && x !== '';

  return {
    type: 'credentials',
    tokenHeader: 'authorization',
    sessionExpiryTime: Math.max(1, Math.floor(users.sessionTtl / 1000)),
    // Looked up on every request with an editor token, so a changed role or a removed user takes effect at once.
    async users(username) {
      if (!text(username)) return null;
      const u = users.list().find((x) => x.username === username);
      return u ? userFor(u.username, u.role) : null;
    },
    async authenticate(username, password, allows = () => true) {
      if (!text(username) || !text(password)) return null;
      const checked = await users.checkPassword(username, password);
      const found = checked ? userFor(username, checked.role) : null;
      // No session for a user the editor refuses anyway (viewers, or a scope beyond the user's permissions), nor for a
      // password changed while it was being checked.
      const session = checked && found && allows(found.permissions) ? users.createSession(username, checked) : null;
      attempts.inc({ outcome: session ? 'login_ok' : 'login_refused' });
      if (!found || !session) return null;
      // Node-RED writes its `auth.login` audit entry only for tokens it mints itself: this one is ours.
      log.info({ audit: { event: 'auth.login', username, permissions: found.permissions } }, 'audit: auth.login');
      return { ...found, token: session.token };
    },
    async tokens(token) {
      if (!text(token)) return null;
      const session = users.session(token);
      if (session) return userFor(session.username, session.role);
      if (adminTokens.length === 0) {
        attempts.inc({ outcome: 'token_refused' });
        return null;
      }
      const key = sha256(token);
      const known = verified.get(key);
      if (known) return known;
      if (refused.has(key)) {
        attempts.inc({ outcome: 'token_refused_known' });
        return null;
      }
      if (checking) {
        attempts.inc({ outcome: 'token_busy' });
        return null;
      }
      checking = true;
      try {
        for (const t of adminTokens) {
          if (await verifySecret(token, t.secretHash)) {
            const user: NodeRedUser = { username: `token:${t.name}`, permissions: t.permissions === 'admin' ? '*' : 'read' };
            verified.set(key, user);
            attempts.inc({ outcome: 'token_ok' });
            return user;
          }
        }
      } finally {
        checking = false;
      }
      if (refused.size >= 10_000) refused.clear();
      refused.add(key);
      attempts.inc({ outcome: 'token_refused' });
      return null;
    },
  };
}

/** The token the editor sends (Node-RED reads the header only, never the query), or '' when none. */
const editorToken = (req: Request): string => {
  const header = req.headers.authorization;
  return header?.startsWith('Bearer ') ? header.slice(7).trim() : '';
};

/** The largest editor login body: a form or JSON with a username, a password and the editor's client fields. */
const EDITOR_LOGIN_MAX_BYTES = 4096;

/**
 * Node-RED's admin API parses a request's body (up to `apiMaxLength`, 5 MB) before it checks the token, so anyone on
 * the LAN could hold the event loop for a second per request with nested JSON and get a 401 for it. A request with a
 * body goes on only with a token this adminAuth takes (checked first, the same way, so Node-RED's own check then finds
 * it remembered); the editor login, which has no token yet, only when small.
 */
export function editorBodyGate(auth: Pick<NodeRedAdminAuth, 'tokens'>): RequestHandler {
  return (req, res, next) => {
    const length = req.headers['content-length'];
    const hasBody = (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
    if (!hasBody) return next();
    if (req.method === 'POST' && req.path === '/auth/token') {
      if (Number(length) <= EDITOR_LOGIN_MAX_BYTES) return next();
      res.status(413).json({ error: 'payload_too_large', message: `an editor login is at most ${EDITOR_LOGIN_MAX_BYTES} bytes` });
      return;
    }
    const token = editorToken(req);
    const refuse = (): void => void res.status(401).end();
    if (!token) return refuse();
    auth.tokens(token).then((user) => (user ? next() : refuse()), next);
  };
}

/** The OAuth2 clients Node-RED knows: its editor and the node-red-admin command line. */
const EDITOR_CLIENTS = new Set(['node-red-editor', 'node-red-admin']);

const READ_SCOPE = /^((.+)\.)?read$/;

/**
 * Whether `permissions` cover the scope a login asked for, as Node-RED decides it (editor-api auth/permissions.js,
 * oauth2orize's password grant): '' is whatever the user has; otherwise every space-separated part must be covered,
 * a read-only user's only by `read` or `<something>.read`; no scope at all only for a user who may do everything.
 */
function covers(permissions: NodeRedUser['permissions'], scope: string | undefined): boolean {
  if (scope === '') return true;
  if (permissions === '*') return true;
  return scope !== undefined && scope.split(' ').every((part) => part === permissions || READ_SCOPE.test(part));
}

/**
 * The editor's login (POST <editor root>/auth/token, OAuth2's password grant), answered here and not by Node-RED,
 * which refuses a username for 10 minutes after 6 attempts from any address (editor-api auth/strategies.js): a
 * student's phone could keep the school's admin out of the editor with six wrong passwords every ten minutes, and
 * nothing limited how many scrypt checks one address could start. Here `limiter` bounds attempts per address
 * (http.loginRateLimit, the same count as the console's login) and a stranger's guesses cost nobody else their
 * login. The answer is Node-RED's: the token (a gateway session's, as `authenticate` makes it), or 403
 * `invalid_grant`.
 */
export function editorLogin(auth: Pick<NodeRedAdminAuth, 'authenticate' | 'sessionExpiryTime'>, limiter: RequestHandler): Router {
  const router = express.Router();
  const body = [express.urlencoded({ extended: false, limit: EDITOR_LOGIN_MAX_BYTES }), express.json({ limit: EDITOR_LOGIN_MAX_BYTES })];
  router.post('/auth/token', limiter, ...body, (req, res, next) => {
    const fields = (req.body ?? {}) as Record<string, unknown>;
    const text = (key: string): string => (typeof fields[key] === 'string' ? fields[key] : '');
    if (!EDITOR_CLIENTS.has(text('client_id'))) return void res.status(401).json({ error: 'invalid_client' });
    if (text('grant_type') !== 'password') return void res.status(400).json({ error: 'unsupported_grant_type' });
    const username = text('username');
    const password = text('password');
    const { scope } = fields;
    if (!username || !password || (scope !== undefined && typeof scope !== 'string')) {
      return void res.status(400).json({ error: 'invalid_request', error_description: 'username and password are required; scope is a string' });
    }
    auth
      .authenticate(username, password, (permissions) => covers(permissions, scope))
      .then((user) => {
        // As oauth2orize answers a token: never kept by a cache on the way.
        res.set({ 'Cache-Control': 'no-store', Pragma: 'no-cache' });
        if (user?.token) res.json({ access_token: user.token, expires_in: auth.sessionExpiryTime, token_type: 'Bearer' });
        else res.status(403).json({ error: 'invalid_grant', error_description: 'Invalid resource owner credentials' });
      })
      .catch(next);
  });
  return router;
}

/**
 * The editor's logout (POST <editor root>/auth/revoke, answered by Node-RED once it has checked the token) also
 * ends the gateway session behind the editor token; Node-RED alone would only forget a token of its own.
 */
export function endSessionOnEditorLogout(users: UserStore, log: Logger): RequestHandler {
  return (req, res, next) => {
    if (req.method === 'POST' && req.path === '/auth/revoke') {
      const token = editorToken(req);
      res.on('finish', () => {
        if (!token || res.statusCode !== 200) return;
        // In an event listener: a delete the database refuses (a full disk), thrown, was an uncaught exception, and
        // Node ended the process, every gate with it. The session then lasts until it expires or the next logout.
        try {
          users.logout(token);
        } catch (err) {
          log.error({ err }, 'editor logout: the gateway session could not be ended; it lasts until it expires');
        }
      });
    }
    next();
  };
}
