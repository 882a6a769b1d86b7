/**
 * The demo school's people: 初一 to 初三, four classes each, about 35 students a class, and the staff.
 * Deterministic (a seeded generator), so every demo gateway has the same roster and the README stays true.
 *
 * Fixed points the README and other modules rely on:
 * - `S20250001` 李明 (初一(1)班) holds card `0A1B2C3D`, active (the wallet gives this student ¥50.00);
 * - `S20250002` 王芳 holds card `0BADCAFE`, reported lost;
 * - `T0001`–`T0003` are security staff (pass during a lockdown).
 */
import { seededRandom } from '../core/seeded-random.js';
import type { Database } from '../storage/db.js';

export const DEMO_STUDENT = { externalId: 'S20250001', name: '李明', uid: '0A1B2C3D' } as const;
export const DEMO_LOST = { externalId: 'S20250002', name: '王芳', uid: '0BADCAFE' } as const;

const SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤朴金崔';
const GIVEN = '伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉梅鑫宇浩然子涵欣怡梓轩雨泽一诺思远佳怡俊杰嘉怡博文雅琪晨曦雪松海燕志强建华文静天佑若曦';

export interface DemoPerson {
  externalId: string;
  name: string;
  role: 'student' | 'staff';
  grade: string | null;
  class: string | null;
  scheduleGroup: string;
  security: boolean;
  uid: string;
  status: 'active' | 'lost';
}

export function demoRoster(): DemoPerson[] {
  const r = seededRandom(20250901);
  const pick = (s: string): string => [...s][Math.floor(r() * [...s].length)]!;
  const name = (): string => pick(SURNAMES) + pick(GIVEN) + (r() < 0.6 ? pick(GIVEN) : '');
  const usedUids = new Set<string>([DEMO_STUDENT.uid, DEMO_LOST.uid]);
  const uid = (): string => {
    for (;;) {
      const u = Array.from({ length: 4 }, () => Math.floor(r() * 256).toString(16).padStart(2, '0')).join('').toUpperCase();
      if (!usedUids.has(u)) {
        usedUids.add(u);
        return u;
      }
    }
  };
  const out: DemoPerson[] = [];
  let n = 1;
  for (const grade of ['初一', '初二', '初三']) {
    for (let c = 1; c <= 4; c++) {
      const klass = `${grade}(${c})班`;
      for (let i = 0; i < 35; i++) {
        const externalId = `S2025${String(n).padStart(4, '0')}`;
        const fixed = n === 1 ? DEMO_STUDENT : n === 2 ? DEMO_LOST : undefined;
        out.push({
          externalId,
          name: fixed?.name ?? name(),
          role: 'student',
          grade,
          class: klass,
          // About one in five boards.
          scheduleGroup: fixed ? 'day' : r() < 0.2 ? 'boarding' : 'day',
          security: false,
          uid: fixed?.uid ?? uid(),
          status: n === 2 ? 'lost' : 'active',
        });
        n++;
      }
    }
  }
  for (let i = 1; i <= 30; i++) {
    out.push({
      externalId: `T${String(i).padStart(4, '0')}`,
      name: name(),
      role: 'staff',
      grade: null,
      class: null,
      scheduleGroup: 'staff',
      security: i <= 3,
      uid: uid(),
      status: 'active',
    });
  }
  return out;
}

/** Writes the demo roster in one transaction; does nothing for people that already exist. */
export function seedDemoPeople(db: Database, now: string): number {
  const insertPerson = db.prepare(
    `INSERT OR IGNORE INTO persons (external_id, name, role, grade, class, schedule_group, security, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const personId = db.prepare<[string], { id: number }>('SELECT id FROM persons WHERE external_id = ?');
  const insertCard = db.prepare(
    `INSERT OR IGNORE INTO cards (uid, person_id, status, valid_from, valid_to, issued_at, updated_at, match)
     VALUES (?, ?, ?, NULL, NULL, ?, ?, 'exact')`,
  );
  const roster = demoRoster();
  db.transaction(() => {
    for (const p of roster) {
      insertPerson.run(p.externalId, p.name, p.role, p.grade, p.class, p.scheduleGroup, p.security ? 1 : 0, now, now);
      insertCard.run(p.uid, personId.get(p.externalId)!.id, p.status, now, now);
    }
  })();
  return roster.length;
}
