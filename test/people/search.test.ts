/**
 * GET /api/v1/people/search (issue 25, point 6) on a running demo gateway: a name, pinyin initials, a student number,
 * a class or a card number in any printed form finds the person; nonsense finds no one; hostile input is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cardForms } from '../../gateway/core/card-number.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

interface Hit {
  id: number;
  externalId: string;
  name: string;
  class: string | null;
  matchedBy: string;
}

let gw: TestGateway;
let admin: string;
let viewer: string;

beforeAll(async () => {
  gw = await startTestGateway();
  [admin, viewer] = await Promise.all([gw.login('admin'), gw.login('viewer')]);
});
afterAll(async () => {
  await gw?.close();
});

const search = async (q: string, token: string = admin, extra = ''): Promise<{ status: number; items: Hit[]; body: unknown }> => {
  const res = await gw.api(`/api/v1/people/search?q=${encodeURIComponent(q)}${extra}`, token ? { token } : {});
  const body = (await res.json()) as { items?: Hit[] };
  return { status: res.status, items: body.items ?? [], body };
};

describe('people search', () => {
  it('finds a person by name, the exact name first', async () => {
    const { status, items } = await search('王芳');
    expect(status).toBe(200);
    expect(items[0]).toMatchObject({ externalId: 'S20250002', name: '王芳', matchedBy: 'name' });
  });

  it('finds a person by pinyin initials (李明 → lm), upper or lower case', async () => {
    for (const q of ['lm', 'LM']) {
      const { items } = await search(q, admin, '&limit=20');
      expect(items.map((h) => h.externalId), q).toContain('S20250001');
      expect(items.find((h) => h.externalId === 'S20250001')?.matchedBy).toBe('initials');
    }
  });

  it('finds the holder of card 0A1B2C3D by its printed decimal forms and its hex UID', async () => {
    const forms = cardForms('0A1B2C3D');
    if (!forms.ok) throw new Error('demo card has no printed forms');
    for (const printed of [forms.value['8h10d'], forms.value['6h8d'], '0a1b2c3d']) {
      const { items } = await search(printed);
      expect(items.map((h) => `${h.externalId}:${h.matchedBy}`), printed).toContain('S20250001:card');
    }
  });

  it('finds by student number and by class', async () => {
    expect((await search('s20250001')).items[0]).toMatchObject({ externalId: 'S20250001', matchedBy: 'externalId' });
    const byClass = await search('初一(1)班', admin, '&limit=20');
    expect(byClass.items.length).toBeGreaterThan(0);
    expect(byClass.items.every((h) => h.class === '初一(1)班')).toBe(true);
  });

  it('finds no one for nonsense, and answers never carry card UIDs', async () => {
    expect((await search('zzqx-no-such-person')).items).toEqual([]);
    expect(JSON.stringify((await search('0A1B2C3D')).body)).not.toContain('0A1B2C3D');
  });

  it('lets a viewer find people by name but not by card number', async () => {
    expect((await search('王芳', viewer)).items[0]?.externalId).toBe('S20250002');
    const forms = cardForms('0A1B2C3D');
    if (!forms.ok) throw new Error('demo card has no printed forms');
    expect((await search(forms.value['8h10d'], viewer)).items.filter((h) => h.matchedBy === 'card')).toEqual([]);
    expect((await search(forms.value['8h10d'], admin)).items.filter((h) => h.matchedBy === 'card')).not.toEqual([]);
  });

  it('refuses hostile input: no session, an empty or overlong query, an unbounded limit, LIKE wildcards as text', async () => {
    expect((await search('王芳', '')).status).toBe(401);
    expect((await search('')).status).toBe(400);
    expect((await search('王'.repeat(65))).status).toBe(400);
    expect((await search('王芳', admin, '&limit=100000')).status).toBe(400);
    // "%" and "_" are characters to look for, not patterns that match every name.
    expect((await search('%')).items).toEqual([]);
    expect((await search('_')).items).toEqual([]);
  });
});
