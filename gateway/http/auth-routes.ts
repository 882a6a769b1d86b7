import express, { type RequestHandler, type Router } from 'express';
import { z } from 'zod';
import { bearerToken, sessionOf } from './guards.js';
import { GatewayError } from '../core/errors.js';
import { parse } from './validate.js';
import type { UserStore } from '../auth/users.js';

export const loginBody = z.object({ username: z.string().min(1).max(64), password: z.string().min(1).max(256) });
export const passwordChangeBody = z.strictObject({ currentPassword: z.string().min(1).max(256), newPassword: z.string().min(1).max(256) });

/**
 * What the console needs to know about the school to show it correctly: every time it shows is in the school's
 * zone (a kiosk or Pi whose own clock is set to UTC must still read 08:05 for a tap at 08:05 school time).
 */
export interface SchoolInfo {
  id: string;
  name: string;
  timezone: string;
}

/** Login sits in front of authentication; logout and `me` behind it. */
export function loginRoute(api: Router, users: UserStore, limiter: RequestHandler, school: SchoolInfo): void {
  // Before sign-in, and so read only after the rate limit, and small: a username and a password.
  api.post('/auth/login', limiter, express.json({ limit: '4kb' }), async (req, res) => {
    const { username, password } = parse(loginBody, req.body);
    const result = await users.login(username, password);
    if (!result) throw new GatewayError('unauthorized', 'wrong username or password');
    res.json({ token: result.token, role: result.role, username, expiresAt: new Date(result.expiresAt).toISOString(), school });
  });
}

/**
 * Behind authentication. Rate-limited as a login: a session left open must not become a way to guess the password
 * (which may open other systems too). A wrong current password is a 403, not a 401: the session is still good.
 */
export function sessionRoutes(api: Router, users: UserStore, limiter: RequestHandler, school: SchoolInfo): void {
  api.post('/auth/password', limiter, async (req, res) => {
    const body = parse(passwordChangeBody, req.body);
    const s = sessionOf(res);
    const outcome = await users.changePassword(s.username, body.currentPassword, body.newPassword, bearerToken(req) ?? '');
    if (outcome === 'wrong_password') throw new GatewayError('forbidden', 'currentPassword: wrong password');
    res.status(204).end();
  });
  api.get('/auth/me', (_req, res) => {
    const s = sessionOf(res);
    res.json({ username: s.username, role: s.role, expiresAt: new Date(s.expiresAt).toISOString(), school });
  });
  api.post('/auth/logout', (req, res) => {
    const token = bearerToken(req);
    if (token) users.logout(token);
    res.status(204).end();
  });
}
