/**
 * The OpenAPI 3.1 document of /api/v1, built from the route lists (gateway/http/route-docs.ts) with zod 4's own
 * `z.toJSONSchema`: OpenAPI 3.1 schemas are JSON Schema 2020-12, which is what zod writes, so no converter library
 * is needed. Requests are described as sent (`io: 'input'`: a query `limit` is the text before coercion, a default
 * makes a field optional); a schema zod cannot express (a custom check) becomes `{}` rather than failing the build.
 */
import { z } from 'zod';
import type { RouteAnswer, RouteDoc } from './route-docs.js';
import { ANY_ROLE } from './route-docs.js';

type JsonSchema = Record<string, unknown>;

export interface OpenApiInfo {
  title: string;
  version: string;
  description: string;
}

/** The error body every failure answers with (gateway/http/server.ts). */
const errorSchema: JsonSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' } },
    },
  },
};

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonSchema;
  return rest;
}

/** `/alerts/:id` → `/alerts/{id}`. */
export function openApiPath(expressPath: string): string {
  return expressPath.replace(/:(\w+)/g, '{$1}');
}

function parameters(route: RouteDoc): JsonSchema[] {
  const out: JsonSchema[] = [];
  for (const [where, schema] of [['path', route.params], ['query', route.query]] as const) {
    if (!schema) continue;
    const js = jsonSchema(schema, 'input');
    const props = (js.properties ?? {}) as Record<string, JsonSchema>;
    const required = new Set((js.required ?? []) as string[]);
    for (const [name, prop] of Object.entries(props)) {
      const { description, ...rest } = prop;
      out.push({
        name,
        in: where,
        required: where === 'path' || required.has(name),
        schema: rest,
        ...(typeof description === 'string' && { description }),
      });
    }
  }
  // A path parameter the handler reads without a schema (e.g. `/readers/:id`) is still a parameter.
  for (const [, name] of route.path.matchAll(/:(\w+)/g)) {
    if (!out.some((p) => p.in === 'path' && p.name === name)) out.push({ name, in: 'path', required: true, schema: { type: 'string' } });
  }
  return out;
}

function answer(a: RouteAnswer): JsonSchema {
  const type = a.contentType ?? 'application/json';
  const schema = a.schema ? jsonSchema(a.schema, 'output') : type === 'application/json' ? {} : { type: 'string', contentMediaType: type };
  return { description: a.description, content: { [type]: { schema } } };
}

function noContent(status: number, a: RouteAnswer): JsonSchema {
  return status === 204 ? { description: a.description } : answer(a);
}

const errorAnswer = (description: string): JsonSchema => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

function operation(route: RouteDoc): JsonSchema {
  const responses: Record<string, JsonSchema> = {};
  for (const [status, a] of Object.entries(route.responses)) responses[status] = noContent(Number(status), a);
  if ((route.params || route.query || route.body) && !responses[400]) responses[400] = errorAnswer('a parameter or the body failed validation; the message names each field');
  if (route.roles !== 'public') {
    responses[401] ??= errorAnswer('no token, or an expired or unknown one');
    if (route.roles.length < ANY_ROLE.length) responses[403] ??= errorAnswer(`only ${route.roles.join(', ')} may do this`);
  }
  const who = route.roles === 'public' ? 'No sign-in.' : `Roles: ${route.roles.join(', ')}.`;
  const op: JsonSchema = {
    operationId: `${route.method}${route.path.replace(/[^A-Za-z0-9]+(\w)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
    summary: route.summary,
    description: route.description ? `${route.description}\n\n${who}` : who,
    tags: [route.tag],
    'x-roles': route.roles === 'public' ? [] : [...route.roles],
    security: route.roles === 'public' ? [] : [{ bearer: [] }],
    responses,
  };
  const params = parameters(route);
  if (params.length > 0) op.parameters = params;
  if (route.body) {
    const types = route.bodyContentTypes ?? ['application/json'];
    const schema = route.bodyContentTypes ? { type: 'string', contentMediaType: types[0] } : jsonSchema(route.body, 'input');
    op.requestBody = { required: true, content: Object.fromEntries(types.map((t) => [t, { schema }])) };
  }
  return op;
}

/** Routes in the order given; two with the same method and path are a mistake in a list and throw. */
export function buildOpenApi(routes: readonly RouteDoc[], info: OpenApiInfo): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const r of routes) {
    const p = (paths[openApiPath(r.path)] ??= {});
    if (p[r.method]) throw new Error(`route documented twice: ${r.method.toUpperCase()} ${r.path}`);
    p[r.method] = operation(r);
  }
  return {
    openapi: '3.1.1',
    info,
    servers: [{ url: '/api/v1' }],
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name })),
    paths,
    components: {
      schemas: { Error: errorSchema },
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description: 'The token from POST /auth/login. Where a browser cannot set headers (EventSource, <img>), `?access_token=<token>`.',
        },
      },
    },
  };
}
