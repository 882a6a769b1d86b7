/**
 * The flow admin API takes API tokens from config (`nodeRed.adminTokens`), checked with scrypt (16 MB, a libuv thread
 * each). Anyone on the LAN can send bearer tokens to /flows: unknown ones must not each cost a check, or a loop of
 * made-up tokens keeps every worker thread busy.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Counter, Registry } from 'prom-client';
import { hashSecret } from '../../gateway/auth/secrets.js';
import { systemClock } from '../../gateway/core/clock.js';
import { metaMigrations } from '../../gateway/storage/meta.js';
import { UserStore, userMigrations } from '../../gateway/auth/users.js';
import { gatewayAdminAuth } from '../../gateway/node-red/auth.js';
import { openDatabase } from '../../gateway/storage/db.js';
import { tempDir } from '../helpers/gateway.js';

const closers: (() => void)[] = [];
afterEach(() => closers.splice(0).forEach((c) => c()));

async function setup() {
  const db = openDatabase(join(tempDir(), 'gateway.db'), [...metaMigrations, ...userMigrations]);
  closers.push(() => db.close());
  const metrics = new Registry();
  const attempts = new Counter({ name: 'campus_flow_auth_total', help: 'x', labelNames: ['outcome'] as const, registers: [metrics] });
  const auth = gatewayAdminAuth({
    users: new UserStore(db, systemClock, 3_600_000),
    adminTokens: [{ name: 'ci', secretHash: await hashSecret('the-real-deploy-token'), permissions: 'admin' }],
    attempts,
    log: pino({ level: 'silent' }),
  });
  const outcomes = async (): Promise<Record<string, number>> =>
    Object.fromEntries((await attempts.get()).values.map((v) => [String(v.labels.outcome), v.value]));
  return { auth, outcomes };
}

describe('flow admin API tokens', () => {
  it('checks at most one unknown token at a time and refuses the rest at once; a repeated one costs no second check', async () => {
    const { auth, outcomes } = await setup();
    const flood = await Promise.all(Array.from({ length: 20 }, (_, i) => auth.tokens(`made-up-token-${i}`)));
    expect(flood.every((u) => u === null)).toBe(true);
    const after = await outcomes();
    // Only the first was checked with scrypt; the other 19 arrived while it ran.
    expect(after.token_refused).toBe(1);
    expect(after.token_busy).toBe(19);
    // The one checked is remembered as wrong: sent again, it is refused without a check.
    expect(await auth.tokens('made-up-token-0')).toBeNull();
    expect((await outcomes()).token_refused_known).toBe(1);
  });

  it('still lets the real token in, once the flood is over', async () => {
    const { auth } = await setup();
    await Promise.all(Array.from({ length: 5 }, (_, i) => auth.tokens(`made-up-${i}`)));
    expect(await auth.tokens('the-real-deploy-token')).toEqual({ username: 'token:ci', permissions: '*' });
  });
});
