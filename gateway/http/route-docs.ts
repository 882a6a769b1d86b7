/**
 * What a route under /api/v1 tells the OpenAPI document (gateway/http/openapi.ts): method, path, who may call it, the
 * zod schemas its handler validates with (the same objects, exported from its routes file) and its answers. Each
 * folder that mounts routes keeps its list in `api-docs.ts` beside its `routes.ts`; test/foundation/openapi.test.ts
 * fails when a list and what is mounted on the app (paths, methods, `guards.role(...)`) disagree.
 */
import type { z } from 'zod';
import type { Role } from '../auth/users.js';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** Every signed-in role: a route without `guards.role(...)`, or guarded with all three. */
export const ANY_ROLE: readonly Role[] = ['admin', 'security', 'viewer'];

export interface RouteAnswer {
  description: string;
  /** A zod schema that shapes the answer, where the handler has one. */
  schema?: z.ZodType;
  /** Default application/json; e.g. image/jpeg, video/mp4, text/event-stream. */
  contentType?: string;
}

export interface RouteDoc {
  method: HttpMethod;
  /** The express path under /api/v1, e.g. `/alerts/:id`. */
  path: string;
  /** One line for people; the first tag groups routes in viewers. */
  summary: string;
  tag: string;
  /** Who may call it: roles of a signed-in user, or `public` for no sign-in at all. */
  roles: readonly Role[] | 'public';
  description?: string;
  params?: z.ZodObject;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** When the body is not JSON (the roster import takes CSV): its media types; the body schema is then a string. */
  bodyContentTypes?: readonly string[];
  /** Answers by HTTP status; the common errors (400, 401, 403) are added from the route's inputs and roles. */
  responses: Record<number, RouteAnswer>;
}
