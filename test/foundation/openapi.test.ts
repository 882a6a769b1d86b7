/**
 * The OpenAPI document (issue 22, point 6) against the real app: every route mounted under /api/v1 is documented with
 * the roles its `guards.role(...)` lets through, every documented route is mounted, sign-in is needed exactly where
 * the document says, the document is valid OpenAPI 3.1, and docs/openapi.json is what `npm run openapi` writes.
 */
import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { Express } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiDocument } from '../../gateway/api-catalogue.js';
import { openApiText } from '../../gateway/cli/write-openapi.js';
import { rolesOf } from '../../gateway/http/guards.js';
import { openApiPath } from '../../gateway/http/openapi.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

const ALL_ROLES = ['admin', 'security', 'viewer'];

interface StackLayer {
  route?: { path: unknown; methods: Record<string, boolean>; stack: { handle: unknown }[] };
  handle: { stack?: StackLayer[] };
  match(path: string): boolean;
}

/** Method, path and roles of every route on the router mounted at /api/v1, walked on express 5's router stack. */
function mountedApiRoutes(app: Express): Map<string, string[]> {
  const top = (app as unknown as { router: { stack: StackLayer[] } }).router.stack;
  const api = top.filter((l) => Array.isArray(l.handle.stack) && l.match('/api/v1/x') && !l.match('/elsewhere'));
  expect(api).toHaveLength(1);
  const out = new Map<string, string[]>();
  for (const layer of api[0]!.handle.stack!) {
    if (!layer.route) continue;
    expect(typeof layer.route.path).toBe('string');
    const guarded = layer.route.stack.map((h) => rolesOf(h.handle)).find((r) => r !== undefined);
    for (const method of Object.keys(layer.route.methods)) {
      const key = `${method.toUpperCase()} ${openApiPath(layer.route.path as string)}`;
      expect(out.has(key), `${key} mounted twice`).toBe(false);
      out.set(key, [...(guarded ?? ALL_ROLES)].sort());
    }
  }
  return out;
}

type Operation = { 'x-roles': string[]; security: unknown[]; parameters?: { name: string; in: string }[] };
type Doc = { openapi: string; paths: Record<string, Record<string, Operation>> };

function documentedRoutes(doc: Doc): Map<string, Operation> {
  const out = new Map<string, Operation>();
  for (const [path, ops] of Object.entries(doc.paths)) for (const [method, op] of Object.entries(ops)) out.set(`${method.toUpperCase()} ${path}`, op);
  return out;
}

describe('OpenAPI document of /api/v1', () => {
  let gw: TestGateway;
  let served: Doc;
  beforeAll(async () => {
    gw = await startTestGateway({ demo: true });
    const res = await gw.api('/api/v1/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    served = (await res.json()) as Doc;
  });
  afterAll(() => gw.close());

  it('is served without sign-in and is the document the catalogue builds', () => {
    expect(served).toEqual(apiDocument());
  });

  it('documents every mounted route, mounts every documented one, with the roles the guards allow', () => {
    const mounted = mountedApiRoutes(gw.app);
    const documented = documentedRoutes(served);
    expect(mounted.size).toBeGreaterThan(80);
    expect([...mounted.keys()].filter((k) => !documented.has(k)), 'mounted but not documented').toEqual([]);
    expect([...documented.keys()].filter((k) => !mounted.has(k)), 'documented but not mounted').toEqual([]);
    // A public route has no guard (it sits before sign-in, checked by HTTP below); the others name their roles.
    const roles = (op: Operation) => (op['x-roles'].length === 0 ? ALL_ROLES : [...op['x-roles']].sort());
    const wrong = [...mounted].filter(([k, r]) => JSON.stringify(roles(documented.get(k)!)) !== JSON.stringify(r));
    expect(wrong.map(([k, r]) => `${k}: mounted ${r.join(',')}, documented ${documented.get(k)!['x-roles'].join(',')}`)).toEqual([]);
    // Every path parameter is a documented parameter.
    for (const [k, op] of documented) {
      const names = [...k.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      expect(op.parameters?.filter((p) => p.in === 'path').map((p) => p.name).sort() ?? [], k).toEqual(names.sort());
    }
  });

  it('needs sign-in exactly where the document says so', async () => {
    const refusedWithoutToken: string[] = [];
    for (const [key, op] of documentedRoutes(served)) {
      const [method, path] = key.split(' ') as [string, string];
      const url = `/api/v1${path.replace(/\{\w+\}/g, 'x')}`;
      const res = await gw.api(url, { method, ...(method === 'GET' ? {} : { json: {} }) });
      await res.arrayBuffer();
      if (res.status === 401) refusedWithoutToken.push(key);
      expect(res.status === 401, `${key} answered ${res.status} without a token`).toBe(op.security.length > 0);
    }
    expect(refusedWithoutToken.length).toBeGreaterThan(80);
  });

  it('validates as OpenAPI 3.1', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(served) as unknown as Record<string, unknown>);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    // The validator is not a rubber stamp: a parameter in the body (OpenAPI 2, not 3) is refused.
    const broken = structuredClone(served);
    broken.paths['/alerts']!.get!.parameters![0]!.in = 'body';
    expect((await new Validator().validate(broken as unknown as Record<string, unknown>)).valid).toBe(false);
  });

  it('docs/openapi.json is what `npm run openapi` writes', () => {
    const file = readFileSync(new URL('../../docs/openapi.json', import.meta.url), 'utf8');
    expect(file, 'docs/openapi.json is stale: run `npm run openapi`').toBe(openApiText());
  });
});
