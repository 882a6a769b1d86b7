/** The wallet routes (routes.ts) for the OpenAPI document. Amounts are integer fen. */
import type { RouteDoc } from '../http/route-docs.js';
import { PERSONAL_DATA_ROLES } from '../http/visibility.js';
import { correctionBody, dateQuery, historyQuery, personParams, pinBody, refundBody, reviewBody, reviewParams, reviewQuery, topupBody } from './routes.js';

const tag = 'wallet';
const admin = ['admin'] as const;
const entry = { 201: { description: '`{entry, balanceFen, balance}`' }, 409: { description: 'the balance would go below zero' } };

export const walletRouteDocs: RouteDoc[] = [
  { method: 'get', path: '/wallet/check', tag, roles: admin, summary: 'Check the ledger adds up', responses: { 200: { description: 'the check report' } } },
  { method: 'get', path: '/wallet/reconciliation', tag, roles: admin, summary: "A day's reconciliation", query: dateQuery, responses: { 200: { description: 'the reconciliation' } } },
  { method: 'get', path: '/wallet/sales', tag, roles: ['admin', 'security'], summary: "A day's sales totals", query: dateQuery, responses: { 200: { description: 'totals in fen and yuan' } } },
  { method: 'get', path: '/wallet/review', tag, roles: admin, summary: 'Offline sales held for review', query: reviewQuery, responses: { 200: { description: '`{items}`' } } },
  { method: 'post', path: '/wallet/review/:readerId/:seq', tag, roles: admin, summary: 'Accept or reject an offline sale', params: reviewParams, body: reviewBody, responses: { 200: { description: 'the reviewed sale' } } },
  { method: 'get', path: '/wallet/:externalId', tag, roles: PERSONAL_DATA_ROLES, summary: "One person's balance and entries", params: personParams, query: historyQuery, responses: { 200: { description: '`{person, balanceFen, balance, pin, entries, nextBefore}`' }, 404: { description: 'no such person' } } },
  { method: 'put', path: '/wallet/:externalId/pin', tag, roles: admin, summary: 'Set the PIN (also lifts a lock)', params: personParams, body: pinBody, responses: { 200: { description: 'the PIN state' } } },
  { method: 'delete', path: '/wallet/:externalId/pin', tag, roles: admin, summary: 'Remove the PIN', params: personParams, responses: { 200: { description: 'the PIN state' } } },
  { method: 'post', path: '/wallet/:externalId/topup', tag, roles: admin, summary: 'Top up', params: personParams, body: topupBody, responses: entry },
  { method: 'post', path: '/wallet/:externalId/refund', tag, roles: admin, summary: 'Refund', params: personParams, body: refundBody, responses: entry },
  { method: 'post', path: '/wallet/:externalId/correction', tag, roles: admin, summary: 'Correct a balance', params: personParams, body: correctionBody, responses: entry },
];
