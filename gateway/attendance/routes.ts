import type { Router } from 'express';
import { z } from 'zod';
import type { Guards } from '../http/guards.js';
import { sessionOf } from '../http/guards.js';
import { calendarDate } from '../http/dates.js';
import { parse } from '../http/validate.js';
import { jsonFor, visibilityOf } from '../http/visibility.js';
import type { AttendanceRegister } from './register.js';
import type { DayTaps } from './day-taps.js';

export const dateQuery = z.object({ date: calendarDate.optional() });
export const reportQuery = dateQuery.extend({
  role: z.enum(['student', 'staff', 'visitor', 'all']).default('student'),
  status: z
    .string()
    .transform((s) => s.split(',').filter(Boolean))
    .pipe(z.array(z.enum(['present', 'late', 'absent', 'excused', 'expected'])))
    .optional(),
});
export const classQuery = dateQuery.extend({ grade: z.string().max(32).optional() });
const label = z.string().min(1).max(32);
export const excuseBody = z.object({ externalId: z.string().min(1).max(64), date: calendarDate, reason: z.string().trim().min(1).max(500) });
export const classParams = z.object({ class: label });
export const gradeParams = z.object({ grade: label });
export const personParams = z.object({ externalId: z.string().min(1).max(64) });
export const excuseParams = z.object({ externalId: z.string().min(1).max(64), date: calendarDate });

/** Reads: every signed-in role (the class teacher's tablet is a viewer). Excuses: admin and security. */
export function attendanceRoutes(api: Router, guards: Guards, register: AttendanceRegister, taps: DayTaps): void {
  api.get('/attendance', (req, res) => {
    const q = parse(reportQuery, req.query, 'query');
    const report = register.report(q.date ?? register.today(), { role: q.role });
    if (q.status) report.people = report.people.filter((p) => p.status !== null && q.status!.includes(p.status));
    res.json(report);
  });
  api.get('/attendance/classes/:class', (req, res) => {
    const { class: cls } = parse(classParams, req.params, 'params');
    const q = parse(classQuery, req.query, 'query');
    register.requireKnown('class', cls);
    res.json(register.report(q.date ?? register.today(), { role: 'all', class: cls, ...(q.grade !== undefined && { grade: q.grade }) }));
  });
  api.get('/attendance/grades/:grade', (req, res) => {
    const { grade } = parse(gradeParams, req.params, 'params');
    const q = parse(dateQuery, req.query, 'query');
    register.requireKnown('grade', grade);
    res.json(register.report(q.date ?? register.today(), { role: 'all', grade }));
  });
  api.get('/attendance/people/:externalId', (req, res) => {
    const { externalId } = parse(personParams, req.params, 'params');
    const date = parse(dateQuery, req.query, 'query').date ?? register.today();
    const day = register.person(externalId, date);
    // A day's taps include canteen payments: their amounts only for the desk (gateway/http/visibility.ts).
    res.type('json').send(jsonFor(visibilityOf(sessionOf(res).role), { date, ...day, taps: taps.of(register.personId(externalId), date) }));
  });
  api.post('/attendance/excuse', guards.role('admin', 'security'), (req, res) => {
    const b = parse(excuseBody, req.body);
    res.status(201).json({ date: b.date, ...register.excuse(b.externalId, b.date, b.reason, sessionOf(res).username) });
  });
  api.delete('/attendance/excuse/:externalId/:date', guards.role('admin', 'security'), (req, res) => {
    const p = parse(excuseParams, req.params, 'params');
    res.json({ date: p.date, ...register.unexcuse(p.externalId, p.date) });
  });
}
