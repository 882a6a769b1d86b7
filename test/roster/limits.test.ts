/**
 * The roster import's caps (roster.maxBytes, maxRows, maxColumns) through the API, and what happens when someone
 * changes the same people while a file is being written chunk by chunk.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RosterReport } from '../../gateway/roster/import.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;
let admin: string;

beforeAll(async () => {
  gw = await startTestGateway({ config: { roster: { maxBytes: 64 * 1024, maxRows: 1000, maxColumns: 8 } } });
  admin = await gw.login('admin');
});
afterAll(async () => {
  await gw?.close();
});

const upload = async (csv: string, query = 'cardFormat=hex'): Promise<{ status: number; body: RosterReport & { error?: { code: string; message: string } } }> => {
  const res = await gw.api(`/api/v1/people/import?${query}`, {
    method: 'POST', token: admin, headers: { 'content-type': 'text/csv' }, body: csv,
  });
  return { status: res.status, body: (await res.json()) as RosterReport & { error?: { code: string; message: string } } };
};
const total = async (externalIdPrefix: string): Promise<number> => {
  const res = await gw.api(`/api/v1/people?q=${externalIdPrefix}&limit=1`, { token: admin });
  return ((await res.json()) as { total: number }).total;
};
const rows = (prefix: string, n: number, card = false): string[] =>
  Array.from({ length: n }, (_, i) => `${prefix}${i},学生${i}${card ? `,${(0xc0000000 + i).toString(16).toUpperCase()}` : ''}`);

describe('roster import caps', () => {
  it('takes a file of maxRows rows and refuses one more, writing nothing', async () => {
    const over = await upload(['学号,姓名', ...rows('CAPA', 1001)].join('\n'));
    expect(over.status).toBe(422);
    expect(over.body).toMatchObject({ committed: false, written: 0, rows: 0 });
    expect(over.body.errors).toEqual(['the file has more than 1000 rows (roster.maxRows); split it, or raise the limit']);
    expect(await total('CAPA')).toBe(0);
    const at = await upload(['学号,姓名', ...rows('CAPB', 1000)].join('\n'));
    expect(at.status).toBe(200);
    expect(at.body).toMatchObject({ committed: true, written: 1000, created: 1000 });
  });

  it('refuses a row wider than maxColumns, naming its line', async () => {
    const wide = await upload(['学号,姓名', 'CAPC1,甲', `CAPC2,乙${',x'.repeat(7)}`].join('\n'));
    expect(wide.status).toBe(422);
    expect(wide.body.errors).toEqual(['line 3 has 9 columns; a roster has at most 8']);
    expect(await total('CAPC')).toBe(0);
  });

  it('answers 413 for a file over maxBytes', async () => {
    const big = await upload(`学号,姓名,备注\nCAPD1,甲,${'x'.repeat(64 * 1024)}\n`);
    expect(big.status).toBe(413);
    expect(big.body.error).toEqual({ code: 'payload_too_large', message: 'the file is larger than 65536 bytes (roster.maxBytes)' });
    expect(await total('CAPD')).toBe(0);
  });
});

describe('a roster changed while a large file is written', () => {
  it('stops at the row whose person changed, says what was written, and a second import finishes it', async () => {
    // 600 rows with cards: written in two chunks; the first chunk's card.changed events arrive before the second.
    const csv = ['学号,姓名,卡号', ...rows('CHG', 600, true)].join('\n');
    let meddled = false;
    const off = gw.ctx.bus.on('card.changed', () => {
      if (meddled) return;
      meddled = true;
      // Someone adds CHG550 by hand between the chunks.
      gw.ctx.db
        .prepare(`INSERT INTO persons (external_id, name, role, schedule_group, created_at, updated_at) VALUES ('CHG550', '手工', 'student', 'default', ?, ?)`)
        .run(new Date().toISOString(), new Date().toISOString());
    });
    try {
      const first = await upload(csv);
      expect(first.status).toBe(422);
      expect(first.body).toMatchObject({ committed: false, written: 500, rejected: [] });
      expect(first.body.errors).toEqual([
        'line 552: CHG550 was added by someone else during the import; the rows up to line 501 were imported, the rest not: import the file again to finish',
      ]);
      expect(await total('CHG')).toBe(501);
    } finally {
      off();
    }
    const again = await upload(csv);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ committed: true, written: 600, created: 99, updated: 1, unchanged: 500, cardsIssued: 100 });
    expect(await total('CHG')).toBe(600);
  });
});
