import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;
let admin: string;

interface Report {
  committed: boolean;
  rejected: { line: number; externalId?: string; reason: string }[];
  errors: string[];
  ignoredColumns: string[];
}

const importCsv = async (csv: string): Promise<{ status: number; report: Report }> => {
  const res = await gw.api('/api/v1/people/import', { method: 'POST', token: admin, headers: { 'content-type': 'text/csv' }, body: csv });
  return { status: res.status, report: (await res.json()) as Report };
};
const guardiansOf = async (externalId: string, reveal = false) =>
  ((await (await gw.api(`/api/v1/people/${externalId}/guardians${reveal ? '?reveal=true' : ''}`, { token: admin })).json()) as {
    guardians: { name: string; relation: string | null; phone: string; language: string; consent: boolean; consentBy: string | null }[];
    consentHistory: { consent: boolean; by: string }[];
  });

/** Two students with one guardian each, both consenting to messages (the rows the English-header test imports). */
const importKims = (): Promise<{ status: number; report: Report }> =>
  importCsv(['external_id,name,guardian_name,guardian_phone,relation,notify,language', 'G2001,Kim Minjun,Kim Jiho,13800132001,father,yes,ko', 'G2002,Park Seoyeon,Park Hana,0086-139-0013-2002,mother,yes,en'].join('\n'));

// A demo school per test: the sealed-storage and consent tests read guardians another test used to import.
describe('guardian columns in the roster import', () => {
  beforeEach(async () => {
    gw = await startTestGateway({ demo: true });
    admin = await gw.login('admin');
  });
  afterEach(async () => {
    await gw?.close();
  });

  it('reads Chinese headers: +86, spaces and full-width digits are normalised; consent is recorded with who imported', async () => {
    const csv = [
      '学号,姓名,班级,监护人,监护人电话,关系,通知,语言,监护人2,监护人电话2,关系2,通知2,语言2',
      'G1001,赵一,初一(2)班,赵父,+86 138 0013 1111,父亲,是,中文,赵母,１３９００１３２２２２,母亲,否,朝鲜语',
    ].join('\n');
    const { status, report } = await importCsv(csv);
    expect(report.errors).toEqual([]);
    expect(status).toBe(200);
    expect(report.ignoredColumns).toEqual([]);
    const g = await guardiansOf('G1001');
    expect(g.guardians).toEqual([
      expect.objectContaining({ name: '赵父', relation: '父亲', phone: '138****1111', language: 'zh', consent: true, consentBy: 'admin' }),
      expect.objectContaining({ name: '赵母', relation: '母亲', phone: '139****2222', language: 'ko', consent: false }),
    ]);
    expect(g.consentHistory).toEqual([expect.objectContaining({ consent: true, by: 'admin' })]);
    expect((await guardiansOf('G1001', true)).guardians.map((x) => x.phone)).toEqual(['13800131111', '13900132222']);
  });

  it('reads English headers; a bad number rejects its row with its line and imports nothing', async () => {
    const csv = [
      'external_id,name,guardian_name,guardian_phone,relation,notify,language',
      'G2001,Kim Minjun,Kim Jiho,13800132001,father,yes,ko',
      'G2002,Park Seoyeon,Park Hana,12345,mother,yes,en',
    ].join('\n');
    const bad = await importCsv(csv);
    expect(bad.status).toBe(422);
    expect(bad.report.rejected).toEqual([{ line: 3, externalId: 'G2002', reason: expect.stringContaining('监护人电话/guardian_phone "12345"') }]);
    expect((await gw.api('/api/v1/people/G2001/guardians', { token: admin })).status).toBe(404);

    const fixed = await importCsv(csv.replace('12345', '0086-139-0013-2002'));
    expect(fixed.status).toBe(200);
    expect((await guardiansOf('G2001')).guardians).toEqual([expect.objectContaining({ name: 'Kim Jiho', phone: '138****2001', language: 'ko', consent: true })]);
    expect((await guardiansOf('G2002')).guardians).toEqual([expect.objectContaining({ phone: '139****2002', language: 'en' })]);
  });

  it('stores numbers only sealed: the database file holds no plain number', async () => {
    expect((await importKims()).status).toBe(200);
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(`${gw.dataDir}/gateway.db`, { readonly: true });
    const rows = db.prepare('SELECT * FROM guardians').all() as Record<string, unknown>[];
    db.close();
    expect(rows.length).toBeGreaterThan(0);
    expect(JSON.stringify(rows)).not.toMatch(/1[3-9]\d{9}/);
  });

  it('changes consent through the API, keeping the history', async () => {
    expect((await importKims()).status).toBe(200);
    const list = (await (await gw.api('/api/v1/people/G2001/guardians', { token: admin })).json()) as { guardians: { id: number }[] };
    const id = list.guardians[0]!.id;
    const res = await gw.api(`/api/v1/people/G2001/guardians/${id}/consent`, { method: 'PUT', token: admin, json: { consent: false } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ consent: false, consentBy: 'admin', phone: '138****2001' });
    const g = await guardiansOf('G2001');
    expect(g.consentHistory.map((c) => c.consent)).toEqual([true, false]);
    // A bad number through the API is a 400 naming the field.
    const bad = await gw.api('/api/v1/people/G2001/guardians', { method: 'POST', token: admin, json: { name: 'X', phone: '999' } });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('body.phone');
  });
});
