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

/** Bearer token from the header, or `access_token` in the query for EventSource, which cannot set headers. */
export function bearerToken(req: Request): string | undefined {
  const h = req.headers.authorization;
  if (h?.startsWith('Bearer ')) return h.slice(7).trim();
  const q = req.query.access_token;
  return typeof q === 'string' && q ? q : undefined;
}

export function authenticate(users: UserStore) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const token = bearerToken(req);
    const session = token ? users.session(token) : null;
    if (!session) return next(new GatewayError('unauthorized', token ? 'session expired or invalid' : 'missing bearer token'));
    res.locals.session = session;
    next();
  };
}

export const guards: Guards = {
  role:
    (...roles) =>
    (_req, res, next) => {
      const s = res.locals.session as Session | undefined;
      if (!s) return next(new GatewayError('unauthorized', 'sign in first'));
      if (!roles.includes(s.role)) return next(new GatewayError('forbidden', `role ${s.role} may not do this`));
      next();
    },
};
