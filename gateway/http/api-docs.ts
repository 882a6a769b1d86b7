/** The routes the HTTP layer mounts itself (gateway/http/server.ts, auth-routes.ts): sign-in, live events, this document. */
import { z } from 'zod';
import { loginBody, passwordChangeBody } from './auth-routes.js';
import { ANY_ROLE, type RouteDoc } from './route-docs.js';
import { streamQuery } from './sse.js';

const school = z.object({ id: z.string(), name: z.string(), timezone: z.string() });
/** What login and `me` answer (auth-routes.ts builds exactly these fields). */
const sessionAnswer = z.object({ username: z.string(), role: z.enum(['admin', 'security', 'viewer']), expiresAt: z.string(), school });

export const httpRouteDocs: RouteDoc[] = [
  {
    method: 'get',
    path: '/openapi.json',
    tag: 'meta',
    roles: 'public',
    summary: 'This document',
    description: 'Public: it describes the API (the same text as docs/openapi.json in the source), not any data.',
    responses: { 200: { description: 'the OpenAPI 3.1 document' } },
  },
  {
    method: 'post',
    path: '/auth/login',
    tag: 'auth',
    roles: 'public',
    summary: 'Sign in',
    description: 'Rate-limited per client address (http.loginRateLimit).',
    body: loginBody,
    responses: {
      200: { description: 'a session token', schema: sessionAnswer.extend({ token: z.string() }) },
      401: { description: 'wrong username or password' },
      413: { description: 'a body over 4 KiB' },
      429: { description: 'too many logins from this address' },
    },
  },
  {
    method: 'get',
    path: '/auth/me',
    tag: 'auth',
    roles: ANY_ROLE,
    summary: 'The signed-in user and the school',
    responses: { 200: { description: 'the session', schema: sessionAnswer } },
  },
  {
    method: 'post',
    path: '/auth/logout',
    tag: 'auth',
    roles: ANY_ROLE,
    summary: 'End this session',
    responses: { 204: { description: 'the token is ended' } },
  },
  {
    method: 'post',
    path: '/auth/password',
    tag: 'auth',
    roles: ANY_ROLE,
    summary: 'Change your own password',
    description:
      'The current password is checked as a login is, and rate-limited with the login (http.loginRateLimit). The new one: at least 8 characters, ' +
      'not the current one, the username or the demo password. Every other session of the user ends; this one goes on. ' +
      'An admin sets anyone\'s password with `campus-gateway user add` (docs/operations.md).',
    body: passwordChangeBody,
    responses: {
      204: { description: 'changed' },
      400: { description: 'a new password that will not do (the message says why)' },
      403: { description: 'the current password is wrong' },
      429: { description: 'too many logins and password changes from this address' },
    },
  },
  {
    method: 'get',
    path: '/events/stream',
    tag: 'events',
    roles: ANY_ROLE,
    summary: 'Live events (Server-Sent Events)',
    description: 'Every bus event as `event: <kind>`, `data: <JSON>`; the token may be given as `?access_token=` (EventSource cannot set headers).',
    query: streamQuery,
    responses: {
      200: { description: 'an event stream', contentType: 'text/event-stream' },
      429: { description: 'too many streams for this user' },
      503: { description: 'too many streams on the gateway' },
    },
  },
];
