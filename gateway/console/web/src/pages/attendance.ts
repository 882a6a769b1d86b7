/** Attendance for a day: totals, by grade and class, the late and absent lists, and one person's day. */
import { getJson } from '../api.js';
import { asList, num, obj, str, type Json } from '../data.js';
import { h, replace } from '../dom.js';
import { fmtTime, t } from '../i18n/index.js';
import type { Page } from '../router.js';
import { badge, codeLabel, fill, pageHeader, panel, stat, table, today } from '../ui.js';

const STATUSES = ['present', 'late', 'absent', 'excused'] as const;

function counts(o: Json): Record<(typeof STATUSES)[number] | 'enrolled', number> {
  const c = obj(o, 'counts') ?? o;
  return {
    enrolled: num(c, 'enrolled', 'total') ?? 0,
    present: num(c, 'present') ?? 0,
    late: num(c, 'late') ?? 0,
    absent: num(c, 'absent') ?? 0,
    excused: num(c, 'excused') ?? 0,
  };
}

function personCells(p: Json): (string | HTMLElement)[] {
  const person = obj(p, 'person') ?? p;
  const first = str(p, 'firstIn', 'firstInAt');
  return [str(person, 'name') ?? '', [str(person, 'grade'), str(person, 'class')].filter(Boolean).join(' · '), first ? fmtTime(first) : '—', str(person, 'externalId') ?? ''];
}

export const attendancePage: Page = ({ root, query, navigate }) => {
  const date = h('input', { type: 'date', value: query.get('date') ?? today(), 'data-test': 'att-date', onchange: () => go() });
  const person = h('input', { placeholder: t('attendance.personPlaceholder'), value: query.get('person') ?? '', 'data-test': 'att-person' });
  const go = (): void => {
    const q = new URLSearchParams({ date: date.value });
    if (person.value.trim()) q.set('person', person.value.trim());
    navigate(`/attendance?${q.toString()}`);
  };
  const summary = h('div', { 'data-test': 'att-summary' });
  const lists = h('div', { class: 'two-col' });
  const day = h('div', { 'data-test': 'att-person-day' });
  const d = date.value;

  replace(
    root,
    pageHeader(t('attendance.title')),
    h(
      'form',
      { class: 'filters', onsubmit: (e: Event) => (e.preventDefault(), go()) },
      h('label', {}, t('common.date'), date),
      h('label', {}, t('attendance.person'), person),
      h('button', { class: 'btn primary', type: 'submit' }, t('common.show')),
    ),
    query.get('person') ? panel(t('attendance.personDay'), day) : null,
    panel(t('attendance.summary'), summary),
    lists,
  );

  void fill(summary, async () => {
    const s = await getJson<Json>('/attendance/summary', { date: d });
    const c = counts(s);
    const classes = asList(s, 'byClass', 'classes');
    const grades = asList(s, 'byGrade', 'grades');
    return [
      h(
        'div',
        { class: 'stats' },
        stat(t('attendance.enrolled'), c.enrolled),
        ...STATUSES.map((k) => stat(t(`attStatus.${k}`), c[k], k === 'present' ? 'ok' : k === 'late' ? 'warn' : k === 'absent' ? 'bad' : '')),
      ),
      grades.length ? h('h3', {}, t('attendance.byGrade')) : null,
      grades.length ? table([t('attendance.grade'), t('attendance.enrolled'), ...STATUSES.map((k) => t(`attStatus.${k}`))], grades.map((g) => [str(g, 'grade') ?? '', ...Object.values(counts(g))])) : null,
      h('h3', {}, t('attendance.byClass')),
      table(
        [t('attendance.grade'), t('attendance.class'), t('attendance.enrolled'), ...STATUSES.map((k) => t(`attStatus.${k}`))],
        classes.map((g) => [str(g, 'grade') ?? '', str(g, 'class') ?? '', ...Object.values(counts(g))]),
        { 'data-test': 'att-classes' },
      ),
    ];
  });

  for (const status of ['late', 'absent'] as const) {
    const box = h('div', { 'data-test': `att-${status}` });
    lists.append(panel(t(`attendance.${status}List`), box));
    void fill(box, async () => {
      const rows = asList(await getJson<unknown>('/attendance', { date: d, status, limit: 500 }), 'people', 'persons');
      return table([t('attendance.name'), t('attendance.class'), t('attendance.firstIn'), t('attendance.externalId')], rows.map(personCells));
    });
  }

  const who = query.get('person');
  if (who) {
    void fill(day, async () => {
      const p = await getJson<Json>(`/attendance/people/${encodeURIComponent(who)}`, { date: d });
      const person = obj(p, 'person') ?? p;
      const status = str(p, 'status') ?? '';
      const taps = asList(p, 'taps', 'events');
      return [
        h(
          'div',
          { class: 'stats' },
          stat([str(person, 'name'), str(person, 'grade'), str(person, 'class')].filter(Boolean).join(' · '), badge(codeLabel('attStatus', status), `att-${status}`)),
          stat(t('attendance.firstIn'), str(p, 'firstIn', 'firstInAt') ? fmtTime(str(p, 'firstIn', 'firstInAt') ?? '') : '—'),
          stat(t('attendance.lastOut'), str(p, 'lastOut', 'lastOutAt') ? fmtTime(str(p, 'lastOut', 'lastOutAt') ?? '') : '—'),
        ),
        taps.length
          ? table(
              [t('common.time'), t('gates.accessPoint'), t('gates.result')],
              taps.map((x) => [fmtTime(str(x, 'at') ?? ''), str(x, 'accessPointId', 'accessPoint') ?? '', x.granted === false ? codeLabel('reason', str(x, 'reason') ?? '') : t('gates.granted')]),
            )
          : null,
      ];
    });
  }
};
