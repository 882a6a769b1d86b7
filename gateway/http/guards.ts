import type { NextFunction, Request, Response } from 'express';
import type { Role, Session, UserStore } from '../auth/users.js';
import { GatewayError } from '../core/errors.js';

export interface Guards {
  /** Allows only these roles (401 without a session, 403 for another role). */
  role(...roles: Role[]): (req: Request, res: Response, next: NextFunction) => void;
}

/** The session the authenticate middleware found; routes behind it always have one. */
export function sessionOf(res: Response): Session {
  const s = res.locals.session as Session | undefined;
  if (!s) throw new GatewayError('unauthorized', 'sign in first');
  return s;
}

/** The query parameter that carries a token for EventSource, which cannot set headers. */
const TOKEN_PARAM = 'access_token';

/** Bearer token from the header, or `access_token` in the query for EventSource, which cannot set headers. */
export function bearerToken(req: Request): string | undefined {
  const h = req.headers.authorization;
  if (h?.startsWith('Bearer ')) return h.slice(7).trim();
  const q = req.query[TOKEN_PARAM];
  return typeof q === 'string' && q ? q : undefined;
}

/**
 * A request URL fit for the log: every `access_token` value replaced by `[redacted]`, the rest as sent. Works on the
 * raw text (no URL parsing that could throw or re-encode), so whatever was logged before is still recognisable.
 */
export function loggableUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = url
    .slice(q + 1)
    .split('&')
    .map((p) => {
      const eq = p.indexOf('=');
      const name = eq < 0 ? p : p.slice(0, eq);
      return decodeName(name) === TOKEN_PARAM ? `${name}=[redacted]` : p;
    });
  return `${url.slice(0, q + 1)}${params.join('&')}`;
}

/** `access%5Ftoken` is `access_token` to the query parser, so it is to the redaction too. */
function decodeName(name: string): string {
  try {
    return decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    return name;
  }
}

export function authenticate(users: UserStore) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const token = bearerToken(req);
    const session = token ? users.session(token) : null;
    if (!session) return next(new GatewayError('unauthorized', token ? 'session expired or invalid' : 'missing bearer token'));
    res.locals.session = session;
    res.locals.sessionNow = (): Session | null => users.session(token!);
    next();
  };
}

/**
 * The request's session as it stands now (null once it ended: logout, expiry, a new password, a removed user), for
 * responses that outlive the check at their start (live video): they must end with the session, not with the client.
 */
export function sessionNow(res: Response): Session | null {
  const now = res.locals.sessionNow as (() => Session | null) | undefined;
  return now ? now() : null;
}

/** Marks a guard with the roles it lets through, so what is mounted can be compared with the API docs (rolesOf). */
const ROLES = Symbol('roles');

/** The roles a `guards.role(...)` handler allows; undefined for any other handler. */
export function rolesOf(handler: unknown): readonly Role[] | undefined {
  return typeof handler === 'function' ? (handler as { [ROLES]?: readonly Role[] })[ROLES] : undefined;
}

export const guards: Guards = {
  role: (...roles) =>
    Object.assign(
      (_req: Request, res: Response, next: NextFunction): void => {
        const s = res.locals.session as Session | undefined;
        if (!s) return next(new GatewayError('unauthorized', 'sign in first'));
        if (!roles.includes(s.role)) return next(new GatewayError('forbidden', `role ${s.role} may not do this`));
        next();
      },
      { [ROLES]: Object.freeze([...roles]) },
    ),
};
