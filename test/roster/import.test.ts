/**
 * Roster import on real SQLite files: the encodings Excel writes, Chinese and English headers, quoted fields,
 * all-or-nothing with line numbers, idempotent re-import, decimal card forms; through the API and the CLI code.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runImportRoster } from '../../gateway/cli/import-roster.js';
import type { RosterReport } from '../../gateway/roster/import.js';
import { runBin } from '../helpers/bin.js';
import { startTestGateway, tempDir, type TestGateway } from '../helpers/gateway.js';

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
const ZH_HEADER = '学号,姓名,身份,年级,班级,作息组,卡号';

describe('roster import through the API', () => {
  let gw: TestGateway;
  let admin: string;

  // A fresh demo school per test (schedule groups day, boarding, staff; the rows below use ids its roster does not):
  // what one test imports is not another's starting point, whatever the order.
  beforeEach(async () => {
    gw = await startTestGateway();
    admin = await gw.login('admin');
  });
  afterEach(async () => {
    await gw?.close();
  });

  const upload = async (bytes: Buffer, cardFormat: string): Promise<{ status: number; report: RosterReport }> => {
    const res = await gw.api(`/api/v1/people/import?cardFormat=${cardFormat}`, {
      method: 'POST', token: admin, headers: { 'content-type': 'text/csv' }, body: new Uint8Array(bytes),
    });
    return { status: res.status, report: (await res.json()) as RosterReport };
  };
  const person = async (externalId: string): Promise<{ name: string; class: string | null; role: string; cards: { uid: string; match: string }[] } | undefined> => {
    const res = await gw.api(`/api/v1/people?externalId=${externalId}`, { token: admin });
    return ((await res.json()) as { items: { name: string; class: string | null; role: string; cards: { uid: string; match: string }[] }[] }).items[0];
  };

  /** The school's first file: S1001 (card 5630F009), S1002 and T2001. */
  const firstFile = (): Buffer => Buffer.concat([BOM, Buffer.from([
    ZH_HEADER,
    'S1001,张伟,学生,初一,"初一(1)班",day,5630F009',
    'S1002,"欧阳, 娜娜",学生,初一,初一(2)班,boarding,04CEFED9A12580',
    'T2001,李老师,教师,,,staff,',
  ].join('\r\n'))]);

  it('imports a UTF-8 file with a BOM and Chinese headers, with quoted fields', async () => {
    const { status, report } = await upload(firstFile(), 'hex');
    expect(status).toBe(200);
    expect(report).toMatchObject({ committed: true, encoding: 'utf-8-bom', rows: 3, created: 3, cardsIssued: 2, rejected: [] });
    expect(await person('S1002')).toMatchObject({ name: '欧阳, 娜娜', class: '初一(2)班', cards: [{ uid: '04CEFED9A12580', match: 'exact' }] });
    expect(await person('T2001')).toMatchObject({ role: 'staff', cards: [] });
  });

  it('imports a GB18030 file as Excel saves it on Chinese Windows, with 8H10D card numbers', async () => {
    const csv = [ZH_HEADER, 'S3001,诸葛亮,学生,初三,初三(1)班,day,0009334109', 'S3002,司马懿,学生,初三,初三(1)班,day,\'0166735958'].join('\r\n');
    const bytes = iconv.encode(csv, 'gb18030');
    expect(bytes.includes(Buffer.from('诸葛亮'))).toBe(false); // really not UTF-8
    const { status, report } = await upload(bytes, '8h10d');
    expect(status).toBe(200);
    expect(report.encoding).toBe('gb18030');
    expect(report.committed).toBe(true);
    // 8H10D carries the low 4 bytes only: stored as a partial card, and the report says so.
    expect(report.accepted[0]!.card).toMatchObject({ uid: '008E6D5D', match: 'suffix', action: 'issued' });
    expect(report.accepted[0]!.card!.note).toMatch(/low 4 bytes/);
    expect(await person('S3001')).toMatchObject({ name: '诸葛亮', class: '初三(1)班' });
  });

  it('rejects the whole file when one row is bad, naming every bad row by line', async () => {
    const csv = [
      'external_id,name,role,grade,class,schedule_group,card',
      'E1,Alice,student,7,7A,day,11223344',
      'E2,,student,7,7A,day,',
      '"E3","Bob ""the builder""",pilot,7,7A,day,',
      'E4,Carol,student,7,7A,night,',
      'E5,Dan,student,7,7A,day,5630F009', // already S1001's card (imported first, below)
      'E1,Alice again,student,7,7A,day,',
      'E6,"Eve',
      'multi-line",student,7,7A,day,ZZZZ',
    ].join('\n');
    expect((await upload(firstFile(), 'hex')).status).toBe(200);
    const { status, report } = await upload(Buffer.from(csv), 'hex');
    expect(status).toBe(422);
    expect(report.committed).toBe(false);
    expect(report.rejected.map((r) => [r.line, r.externalId])).toEqual([
      [3, 'E2'], [4, 'E3'], [5, 'E4'], [6, 'E5'], [7, 'E1'], [8, 'E6'],
    ]);
    expect(report.rejected.find((r) => r.externalId === 'E5')!.reason).toMatch(/already issued to S1001/);
    expect(report.rejected.find((r) => r.externalId === 'E4')!.reason).toMatch(/night/);
    expect(report.errors.join(' ')).toMatch(/nothing was imported/);
    // Not even the good row was written.
    expect(await person('E1')).toBeUndefined();
    expect((await gw.api('/api/v1/people?card=11223344', { token: admin }).then((r) => r.json()) as { total: number }).total).toBe(0);
  });

  it('re-importing the same file changes nothing; a changed row is an update', async () => {
    expect((await upload(firstFile(), 'hex')).report).toMatchObject({ committed: true, created: 3 });
    const again = await upload(firstFile(), 'hex');
    expect(again.report).toMatchObject({ committed: true, created: 0, updated: 0, unchanged: 3, cardsIssued: 0 });
    const moved = Buffer.from(['学号,姓名,班级', 'S1001,张伟,初一(3)班'].join('\n'));
    const r = await upload(moved, 'hex');
    expect(r.report).toMatchObject({ committed: true, updated: 1 });
    // The columns the file does not have stay as they were.
    expect(await person('S1001')).toMatchObject({ class: '初一(3)班', role: 'student', grade: '初一', scheduleGroup: 'day', cards: [{ uid: '5630F009' }] });
  });

  it('says which columns it did not read, refuses a field given twice, and knows the one-card systems\' card headers', async () => {
    const extra = await upload(Buffer.from('学号,姓名,备注,IC卡号\nS8101,甲,转学生,8E8E8E8E\n'), 'hex');
    expect(extra.report).toMatchObject({ committed: true, cardsIssued: 1, ignoredColumns: ['备注'] });
    const twice = await upload(Buffer.from('学号,姓名,卡号,物理卡号\nS8102,乙,8F8F8F8F,9F9F9F9F\n'), 'hex');
    expect(twice.report.committed).toBe(false);
    expect(twice.report.errors).toEqual(['columns 3 and 4 are both 卡号/card: keep one']);
    expect(await person('S8102')).toBeUndefined();
  });

  it('tells the bus about each card it issued, once committed, and nothing for a rejected file', async () => {
    const events: { uid: string; externalId: string; status: string; previous: string | null; by: string }[] = [];
    const off = gw.ctx.bus.on('card.changed', (e) => events.push(e));
    try {
      await upload(Buffer.from('学号,姓名,卡号\nS8001,甲,8A8A8A8A\nS8002,乙,8B8B8B8B\nS8003,丙,\n'), 'hex');
      expect(events).toEqual([
        expect.objectContaining({ uid: '8A8A8A8A', externalId: 'S8001', status: 'active', previous: null, by: 'admin' }),
        expect.objectContaining({ uid: '8B8B8B8B', externalId: 'S8002', status: 'active', previous: null, by: 'admin' }),
      ]);
      await upload(Buffer.from('学号,姓名,卡号\nS8004,丁,8C8C8C8C\nS8005,,8D8D8D8D\n'), 'hex');
      expect(events).toHaveLength(2);
    } finally {
      off();
    }
  });

  it('leaves what a file has no column for as it is: a sheet of names and cards keeps a guard a guard', async () => {
    await upload(Buffer.from('学号,姓名,身份,作息组,安保\nT7001,侯杰,教师,staff,是\n'), 'hex');
    const cards = await upload(Buffer.from('工号,姓名,卡号\nT7001,侯杰,7A7A7A7A\n'), 'hex');
    expect(cards.report).toMatchObject({ committed: true, unchanged: 1, cardsIssued: 1 });
    expect(await person('T7001')).toMatchObject({ role: 'staff', security: true, scheduleGroup: 'staff', cards: [{ uid: '7A7A7A7A' }] });
    // Making a guard a student needs the security column too, and says so.
    const demoted = await upload(Buffer.from('学号,姓名,身份\nT7001,侯杰,学生\n'), 'hex');
    expect(demoted.report.committed).toBe(false);
    expect(demoted.report.rejected[0]!.reason).toMatch(/T7001 is security staff: give 安保\/security 否/);
    // A new person still gets the defaults.
    await upload(Buffer.from('学号,姓名\nS7002,新同学\n'), 'hex');
    expect(await person('S7002')).toMatchObject({ role: 'student', security: false, scheduleGroup: 'default', class: null });
  });

  it('completes a partial card when the whole UID arrives, and refuses a decimal form that fits several cards', async () => {
    // S3001's card stored from 8H10D as 008E6D5D; then the hex export gives the whole EM UID.
    const partial = await upload(Buffer.from('学号,姓名,卡号\nS3001,诸葛亮,0009334109\n'), '8h10d');
    expect(partial.report.accepted[0]!.card).toMatchObject({ uid: '008E6D5D', match: 'suffix', action: 'issued' });
    const full = await upload(Buffer.from('学号,姓名,卡号\nS3001,诸葛亮,06008E6D5D\n'), 'hex');
    expect(full.report.accepted[0]!.card).toMatchObject({ uid: '06008E6D5D', action: 'completed' });
    expect((await person('S3001'))!.cards).toEqual([expect.objectContaining({ uid: '06008E6D5D', match: 'exact' })]);
    // Two 7-byte cards sharing their low 3 bytes: a 6H8D number cannot tell them apart.
    await upload(Buffer.from('学号,姓名,卡号\nS4001,甲,04AAAAAA123456\nS4002,乙,04BBBBBB123456\n'), 'hex');
    const ambiguous = await upload(Buffer.from('学号,姓名,卡号\nS4003,丙,01193046\n'), '6h8d');
    expect(ambiguous.report.committed).toBe(false);
    expect(ambiguous.report.rejected[0]!.reason).toMatch(/matches 2 cards/);
  });

  it('refuses a file in no encoding it can read instead of importing garbled names', async () => {
    // UTF-8 with one byte pasted from a Latin-1 file: read as GB18030 it would turn 张三 into 寮犱笁.
    const stray = await upload(Buffer.concat([Buffer.from('学号,姓名\nM1,张三\nM2,Jos'), Buffer.from([0xe9]), Buffer.from('\n')]), 'hex');
    expect(stray).toMatchObject({ status: 422, report: { committed: false, encoding: null } });
    expect(stray.report.errors[0]).toMatch(/line 3 is not valid UTF-8 \(byte 0xE9\)/);
    const withBom = await upload(Buffer.concat([BOM, Buffer.from('学号,姓名\nM1,'), Buffer.from([0xff]), Buffer.from('\n')]), 'hex');
    expect(withBom.report.errors[0]).toMatch(/line 2 is not valid UTF-8/);
    const utf16 = await upload(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('学号,姓名\n', 'utf16le')]), 'hex');
    expect(utf16.report.errors[0]).toMatch(/UTF-16/);
    const neither = await upload(Buffer.concat([Buffer.from('external_id,name\nM3,'), Buffer.from([0xff]), Buffer.from('\n')]), 'hex');
    expect(neither.report.errors[0]).toMatch(/neither UTF-8 nor GB18030 \(line 2\)/);
    expect(await person('M1')).toBeUndefined();
  });

  it('rejects a file without the required columns, and a body that is not CSV', async () => {
    const { status, report } = await upload(Buffer.from('foo,bar\n1,2\n'), 'hex');
    expect(status).toBe(422);
    expect(report.errors.join(' ')).toMatch(/external_id/);
    const bad = await gw.api('/api/v1/people/import?cardFormat=octal', {
      method: 'POST', token: admin, headers: { 'content-type': 'text/csv' }, body: 'a,b\n',
    });
    expect(bad.status).toBe(400);
  });
});

describe('import-roster command', () => {
  it('imports a GB18030 file into the configured data dir and exits 1 with a report when a row is bad', async () => {
    const dir = tempDir();
    const configFile = join(dir, 'gateway.yaml');
    writeFileSync(configFile, stringify({ dataDir: join(dir, 'data'), access: { scheduleGroups: [{ id: 'day' }] } }));
    const good = join(dir, 'good.csv');
    writeFileSync(good, iconv.encode('学号,姓名,身份,班级,作息组,卡号\r\nS1,王小明,学生,初一(1)班,day,111,27706\r\n'.replace('111,27706', '"111,27706"'), 'gb18030'));
    const ok = await runImportRoster(good, { cardFormat: 'wg26', config: configFile });
    expect(ok.exitCode).toBe(0);
    expect(ok.report).toMatchObject({ committed: true, encoding: 'gb18030', created: 1 });
    expect(ok.report.accepted[0]!.card).toMatchObject({ uid: '6F6C3A', match: 'suffix' });

    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, '学号,姓名,卡号\nS2,李四,1.44605E+09\n');
    const refused = await runImportRoster(bad, { cardFormat: '8h10d', config: configFile });
    expect(refused.exitCode).toBe(1);
    expect(refused.report.rejected[0]).toMatchObject({ line: 2, externalId: 'S2' });
    expect(refused.report.rejected[0]!.reason).toMatch(/scientific notation/);
  });

  it('refuses a file over roster.maxBytes before reading it, and one over roster.maxRows as a whole', async () => {
    const dir = tempDir();
    const configFile = join(dir, 'gateway.yaml');
    writeFileSync(configFile, stringify({ dataDir: join(dir, 'data'), roster: { maxBytes: 1024, maxRows: 3 } }));
    const big = join(dir, 'big.csv');
    writeFileSync(big, `学号,姓名,备注\nS1,甲,${'x'.repeat(1024)}\n`);
    await expect(runImportRoster(big, { cardFormat: 'hex', config: configFile })).rejects.toThrow(/has 1053 bytes; a roster file has at most 1024 \(roster\.maxBytes\)/);
    const long = join(dir, 'long.csv');
    writeFileSync(long, '学号,姓名\nS1,甲\nS2,乙\nS3,丙\nS4,丁\n');
    const refused = await runImportRoster(long, { cardFormat: 'hex', config: configFile });
    expect(refused.exitCode).toBe(1);
    expect(refused.report).toMatchObject({ committed: false, written: 0, errors: ['the file has more than 3 rows (roster.maxRows); split it, or raise the limit'] });
    writeFileSync(long, '学号,姓名\nS1,甲\nS2,乙\nS3,丙\n');
    expect((await runImportRoster(long, { cardFormat: 'hex', config: configFile })).report).toMatchObject({ committed: true, written: 3 });
  });

  it('checks schedule groups against the demo school with --demo, as `start --demo` runs', () => {
    const dir = tempDir();
    const file = join(dir, 'roster.csv');
    writeFileSync(file, '学号,姓名,作息组\nS9,王五,boarding\n');
    const env = { CAMPUS_DATA_DIR: join(dir, 'data') };
    // The built-in defaults know only "default"; the demo school has "day", "boarding" and "staff".
    const plain = runBin(['import-roster', file, '--card-format', 'hex', '--dry-run'], { env });
    expect(plain.status).toBe(1);
    expect(plain.stdout).toMatch(/not configured/);
    const demo = runBin(['import-roster', file, '--card-format', 'hex', '--demo'], { env });
    expect(demo.stderr).toBe('');
    expect(demo.status).toBe(0);
    expect(demo.stdout).toMatch(/imported: 1 created/);
  });
});
