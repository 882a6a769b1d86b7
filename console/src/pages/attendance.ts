/** Attendance for a day: totals, by grade and class, the late and absent lists, and one person's day. */
import { learnPlaceNames, placeName, readerName } from '../names.js';
import { getJson } from '../api.js';
import { asList, num, obj, str, type Json } from '../data.js';
import { h, replace } from '../dom.js';
import { t } from '../i18n/index.js';
import { fmtTime } from '../time.js';
import type { Page } from '../router.js';
import { personSearch } from '../person-search.js';
import { badge, codeLabel, fill, filterForm, pageHeader, panel, stat, table } from '../ui.js';

/** A tap's place by name: its access point's, else its reader's, else the id. */
const placeNameOf = (x: Json): string => {
  const ap = str(x, 'accessPoint');
  const reader = str(x, 'readerId');
  return (ap ? placeName(ap) : undefined) ?? (reader ? readerName(reader) : undefined) ?? ap ?? reader ?? '';
};

const STATUSES = ['present', 'late', 'expected', 'absent', 'excused'] as const;

function counts(o: Json): Record<(typeof STATUSES)[number] | 'enrolled', number> {
  const c = obj(o, 'counts') ?? o;
  return {
    enrolled: num(c, 'enrolled', 'total') ?? 0,
    present: num(c, 'present') ?? 0,
    late: num(c, 'late') ?? 0,
    absent: num(c, 'absent') ?? 0,
    excused: num(c, 'excused') ?? 0,
    expected: num(c, 'expected') ?? 0,
  };
}

/** Enrolled, then the statuses in the order of the table headers. */
function countCells(o: Json): number[] {
  const c = counts(o);
  return [c.enrolled, ...STATUSES.map((k) => c[k])];
}

export const attendancePage: Page = ({ root, query, navigate }) => {
  // No date asked: the gateway's today in the school's time zone, which the browser's clock may not share.
  const date = h('input', { type: 'date', value: query.get('date') ?? '', 'data-test': 'att-date', onchange: () => go() });
  let personId = query.get('person') ?? '';
  const go = (): void => {
    const q = new URLSearchParams({ date: date.value });
    if (personId) q.set('person', personId);
    navigate(`/attendance?${q.toString()}`);
  };
  // Found by name, initials, number, class or card: the day is then asked for by the person's number.
  const person = personSearch({
    value: personId,
    test: 'att-person',
    onPick: (p) => {
      personId = p.externalId;
      go();
    },
  });
  const summary = h('div', { 'data-test': 'att-summary' });
  const lists = h('div', { class: 'two-col' });
  const day = h('div', { 'data-test': 'att-person-day' });
  const d = date.value || undefined;

  replace(
    root,
    pageHeader(t('attendance.title')),
    filterForm(go, [t('common.date'), date]),
    person,
    query.get('person') ? panel(t('attendance.personDay'), day) : null,
    panel(t('attendance.summary'), summary),
    lists,
  );

  // One report for the day: totals, grades with their classes, and every student's status.
  const report = getJson<Json>('/attendance', { date: d });
  // The day it answered for, shown in the picker and used in the links below.
  const reportDate = report.then((s) => {
    if (!date.value) date.value = str(s, 'date') ?? '';
    return date.value;
  });
  void fill(summary, async () => {
    const s = await report;
    const c = counts(obj(s, 'totals') ?? s);
    const grades = asList(s, 'grades');
    const classes = grades.flatMap((g) => asList(g, 'classes').map((cl) => ({ ...cl, grade: str(g, 'grade') ?? '' })));
    return [
      s.schoolDay === false ? h('p', { class: 'state' }, t('attendance.notSchoolDay')) : null,
      h(
        'div',
        { class: 'stats' },
        stat(t('attendance.enrolled'), c.enrolled),
        ...STATUSES.map((k) => stat(t(`attStatus.${k}`), c[k], k === 'present' ? 'ok' : k === 'late' ? 'warn' : k === 'absent' ? 'bad' : '')),
      ),
      h('h3', {}, t('attendance.byGrade')),
      table([t('attendance.grade'), t('attendance.enrolled'), ...STATUSES.map((k) => t(`attStatus.${k}`))], grades.map((g) => [str(g, 'grade') ?? '—', ...countCells(g)])),
      h('h3', {}, t('attendance.byClass')),
      table(
        [t('attendance.grade'), t('attendance.class'), t('attendance.enrolled'), ...STATUSES.map((k) => t(`attStatus.${k}`))],
        classes.map((g) => [str(g, 'grade') ?? '—', str(g, 'class') ?? '—', ...countCells(g)]),
        { 'data-test': 'att-classes' },
      ),
    ];
  });

  for (const [status, title] of [['late', t('attendance.lateList')], ['absent', t('attendance.absentList')]] as const) {
    const box = h('div', { 'data-test': `att-${status}` });
    lists.append(panel(title, box));
    void fill(box, async () => {
      const rows = asList(await report, 'people').filter((p) => str(p, 'status') === status);
      const day = await reportDate;
      // A whole school can be absent on a holiday morning: the list scrolls inside its panel.
      return h('div', { class: 'scroll-box' }, h('p', { class: 'muted small' }, t('attendance.count', { n: rows.length })), table(
        [t('attendance.name'), t('attendance.class'), t('attendance.firstIn'), t('attendance.externalId')],
        rows.map((p) => [
          h('a', { href: `/attendance?date=${encodeURIComponent(day)}&person=${encodeURIComponent(str(p, 'externalId') ?? '')}`, 'data-link': '' }, str(p, 'name') ?? ''),
          [str(p, 'grade'), str(p, 'class')].filter(Boolean).join(' · '),
          str(p, 'firstIn') ? fmtTime(str(p, 'firstIn') ?? '') : '—',
          str(p, 'externalId') ?? '',
        ]),
      ));
    });
  }

  const who = query.get('person');
  if (who) {
    void fill(day, async () => {
      const [p] = await Promise.all([getJson<Json>(`/attendance/people/${encodeURIComponent(who)}`, { date: d }), learnPlaceNames()]);
      const person = obj(p, 'person') ?? p;
      const status = str(p, 'status') ?? '';
      const taps = asList(p, 'taps', 'events');
      return [
        h(
          'div',
          { class: 'stats' },
          stat([str(person, 'name'), str(person, 'grade'), str(person, 'class')].filter(Boolean).join(' · '), badge(codeLabel('attStatus', status), `att-${status}`)),
          stat(t('attendance.firstIn'), str(p, 'firstIn') ? fmtTime(str(p, 'firstIn') ?? '') : '—'),
          stat(t('attendance.lastOut'), str(p, 'lastOut') ? fmtTime(str(p, 'lastOut') ?? '') : '—'),
        ),
        taps.length
          ? table(
              [t('common.time'), t('gates.accessPoint'), t('gates.result')],
              taps.map((x) => [
                fmtTime(str(x, 'at') ?? ''),
                [placeNameOf(x), str(x, 'direction') ? codeLabel('direction', str(x, 'direction') ?? '') : ''].filter(Boolean).join(' · '),
                x.granted === false ? codeLabel('reason', str(x, 'reason') ?? '') : t('gates.granted'),
              ]),
            )
          : null,
      ];
    });
  }
};
