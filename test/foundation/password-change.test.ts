/** A user changes their own password: the current one first, weak ones refused, other sessions ended, guessing limited. */
import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;
afterEach(async () => {
  await gw?.close();
});

const change = (token: string, currentPassword: string, newPassword: string): Promise<Response> =>
  gw.api('/api/v1/auth/password', { method: 'POST', token, json: { currentPassword, newPassword } });
const message = async (res: Response): Promise<string> => ((await res.json()) as { error: { message: string } }).error.message;

describe('POST /api/v1/auth/password', () => {
  it('changes a guard\'s own password, ends their other sessions and keeps this one', async () => {
    // Room for this test's 12 logins and changes within the login rate limit's minute.
    gw = await startTestGateway({ demo: true, config: { http: { loginRateLimit: { windowS: 60, max: 20 } } } });
    const desk = await gw.login('security'); // left open on the desk PC
    const phone = await gw.login('security');
    const refused = await change(phone, 'not-my-password', 'a-new-long-one');
    expect(refused.status).toBe(403);
    expect(await message(refused)).toMatch(/currentPassword/);
    const weak = async (current: string, next: string, why: string): Promise<void> => {
      const res = await change(phone, current, next);
      expect(res.status, next).toBe(400);
      expect(await message(res)).toContain(why);
    };
    await weak('campus-demo', 'short', 'at least 8 characters');
    await weak('campus-demo', 'SECURITY', 'the same as the username');
    await weak('campus-demo', 'campus-demo', 'the same as the current password');

    expect((await change(phone, 'campus-demo', 'gate-keeper-2026')).status).toBe(204);
    expect((await gw.api('/api/v1/auth/me', { token: phone })).status).toBe(200);
    expect((await gw.api('/api/v1/auth/me', { token: desk })).status).toBe(401);
    await expect(gw.login('security', 'campus-demo')).rejects.toThrow(/401/);
    expect(await gw.login('security', 'gate-keeper-2026')).toEqual(expect.any(String));
    await weak('gate-keeper-2026', 'campus-demo', 'the published demo password');
    // Nobody else's password moved.
    expect(await gw.login('viewer')).toEqual(expect.any(String));
  });

  it('leaves no working session to a login with the old password racing the change', async () => {
    // An attacker review: a login sent 40-60 ms after the change checked the old password while the change was being
    // written, and its session outlived the change meant to end it.
    gw = await startTestGateway({ demo: true, config: { http: { loginRateLimit: { windowS: 60, max: 200 } } } });
    let password = 'campus-demo';
    for (const [i, delay] of [20, 35, 45, 55, 65, 80].entries()) {
      const next = `new-password-${i}`;
      const token = await gw.login('viewer', password);
      const changed = change(token, password, next);
      await new Promise((r) => setTimeout(r, delay));
      const racing = await gw.api('/api/v1/auth/login', { method: 'POST', json: { username: 'viewer', password } });
      expect((await changed).status).toBe(204);
      if (racing.status === 200) {
        const stale = ((await racing.json()) as { token: string }).token;
        expect((await gw.api('/api/v1/auth/me', { token: stale })).status, `login ${delay} ms after the change`).toBe(401);
      } else {
        expect(racing.status).toBe(401);
      }
      password = next;
    }
  });

  it('counts towards the login rate limit, so a session left open is no way to guess the password', async () => {
    gw = await startTestGateway({ demo: true, config: { http: { loginRateLimit: { windowS: 60, max: 4 } } } });
    const token = await gw.login('viewer'); // 1 of 4
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await change(token, `guess-${i}`, 'whatever-else-1')).status);
    expect(statuses).toEqual([403, 403, 403, 429]);
    expect((await gw.api('/api/v1/auth/password', { method: 'POST', json: { currentPassword: 'x', newPassword: 'y' } })).status).toBe(401);
  });
});
