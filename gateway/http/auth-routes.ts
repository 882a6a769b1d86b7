import type { RequestHandler, Router } from 'express';
import { z } from 'zod';
import { bearerToken, sessionOf } from './guards.js';
import { GatewayError } from '../core/errors.js';
import { parse } from './validate.js';
import type { UserStore } from '../auth/users.js';

const loginBody = z.object({ username: z.string().min(1).max(64), password: z.string().min(1).max(256) });

/** Login sits in front of authentication; logout and `me` behind it. */
export function loginRoute(api: Router, users: UserStore, limiter: RequestHandler): void {
  api.post('/auth/login', limiter, async (req, res) => {
    const { username, password } = parse(loginBody, req.body);
    const result = await users.login(username, password);
    if (!result) throw new GatewayError('unauthorized', 'wrong username or password');
    res.json({ token: result.token, role: result.role, username, expiresAt: new Date(result.expiresAt).toISOString() });
  });
}

export function sessionRoutes(api: Router, users: UserStore): void {
  api.get('/auth/me', (_req, res) => {
    const s = sessionOf(res);
    res.json({ username: s.username, role: s.role, expiresAt: new Date(s.expiresAt).toISOString() });
  });
  api.post('/auth/logout', (req, res) => {
    const token = bearerToken(req);
    if (token) users.logout(token);
    res.status(204).end();
  });
}
