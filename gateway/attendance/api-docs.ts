/** The attendance routes (routes.ts) for the OpenAPI document. */
import { ANY_ROLE, type RouteDoc } from '../http/route-docs.js';
import { classParams, classQuery, dateQuery, excuseBody, excuseParams, gradeParams, personParams, reportQuery } from './routes.js';

const tag = 'attendance';
const staff = ['admin', 'security'] as const;

export const attendanceRouteDocs: RouteDoc[] = [
  { method: 'get', path: '/attendance', tag, roles: ANY_ROLE, summary: "A day's attendance register", query: reportQuery, responses: { 200: { description: 'the report' } } },
  { method: 'get', path: '/attendance/classes/:class', tag, roles: ANY_ROLE, summary: "One class's register", params: classParams, query: classQuery, responses: { 200: { description: 'the report' }, 404: { description: 'no such class' } } },
  { method: 'get', path: '/attendance/grades/:grade', tag, roles: ANY_ROLE, summary: "One grade's register", params: gradeParams, query: dateQuery, responses: { 200: { description: 'the report' }, 404: { description: 'no such grade' } } },
  { method: 'get', path: '/attendance/people/:externalId', tag, roles: ANY_ROLE, summary: "One person's day with taps", params: personParams, query: dateQuery, responses: { 200: { description: 'the day and its taps (without card and money fields for viewers)' }, 404: { description: 'no such person' } } },
  { method: 'post', path: '/attendance/excuse', tag, roles: staff, summary: 'Excuse an absence', body: excuseBody, responses: { 201: { description: 'the excuse' } } },
  { method: 'delete', path: '/attendance/excuse/:externalId/:date', tag, roles: staff, summary: 'Withdraw an excuse', params: excuseParams, responses: { 200: { description: 'the day without the excuse' } } },
];
