import type { Router } from 'express';
import { z } from 'zod';
import type { Guards } from '../http/guards.js';
import { sessionOf } from '../http/guards.js';
import { calendarDate } from '../http/dates.js';
import { parse } from '../http/validate.js';
import { PERSONAL_DATA_ROLES } from '../http/visibility.js';
import type { LedgerEntry, Wallet } from './ledger.js';

/** A single admin entry above ¥10,000 is almost surely a typo (an extra zero), so the API refuses it. */
const MAX_ENTRY_FEN = 1_000_000;

const fen = z.number().int('integer fen, not yuan').positive().max(MAX_ENTRY_FEN);
const reason = z.string().trim().min(1, 'say why').max(500);
export const topupBody = z.object({ amountFen: fen, reason });
export const refundBody = z.object({ amountFen: fen, reason, entryId: z.number().int().positive().optional() });
export const correctionBody = z.object({
  amountFen: z.number().int('integer fen').min(-MAX_ENTRY_FEN).max(MAX_ENTRY_FEN).refine((n) => n !== 0, 'not zero'),
  reason,
});
export const personParams = z.object({ externalId: z.string().min(1).max(64) });
export const historyQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  before: z.coerce.number().int().positive().optional(),
});
export const dateQuery = z.object({ date: calendarDate.optional() });
export const reviewQuery = z.object({
  status: z.enum(['pending', 'accepted', 'rejected']).default('pending'),
  readerId: z.string().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export const reviewParams = z.object({ readerId: z.string().min(1).max(64), seq: z.coerce.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER) });
export const reviewBody = z.object({ decision: z.enum(['accept', 'reject']), note: reason });
export const pinBody = z.object({ pin: z.string().regex(/^\d{4,6}$/, '4 to 6 digits') });

/** Yuan with two decimals for people to read; computed from fen with integer arithmetic only. */
export function yuan(fenAmount: number): string {
  const sign = fenAmount < 0 ? '-' : '';
  const abs = Math.abs(fenAmount);
  return `${sign}${Math.trunc(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

const shown = (e: LedgerEntry): LedgerEntry & { amount: string } => ({ ...e, amount: yuan(e.amountFen) });

/** Reads: day totals and one person's money for admin and security (the duty desk answers "why was I refused?").
 * Not the totals for a viewer: the till's total before and after a payment the viewer sees named in the recent
 * payments is that child's amount. Money moves: admin only. */
export function walletRoutes(api: Router, guards: Guards, wallet: Wallet, verify: () => ReturnType<Wallet['check']>): void {
  api.get('/wallet/check', guards.role('admin'), (_req, res) => {
    res.json(verify());
  });
  api.get('/wallet/reconciliation', guards.role('admin'), (req, res) => {
    const { date } = parse(dateQuery, req.query, 'query');
    res.json(wallet.reconciliation(date ?? wallet.today()));
  });
  api.get('/wallet/sales', guards.role('admin', 'security'), (req, res) => {
    const { date } = parse(dateQuery, req.query, 'query');
    const s = wallet.sales(date ?? wallet.today());
    res.json({ ...s, gross: yuan(s.grossFen), net: yuan(s.netFen) });
  });
  // Offline sales held for review; before /wallet/:externalId, so that the literal path is never read as a person.
  api.get('/wallet/review', guards.role('admin'), (req, res) => {
    res.json({ items: wallet.reviews(parse(reviewQuery, req.query, 'query')).map((i) => ({ ...i, amount: yuan(i.amountFen) })) });
  });
  api.post('/wallet/review/:readerId/:seq', guards.role('admin'), (req, res) => {
    const { readerId, seq } = parse(reviewParams, req.params, 'params');
    const body = parse(reviewBody, req.body);
    const item = wallet.review(readerId, seq, body.decision, body.note, sessionOf(res).username);
    res.json({ ...item, amount: yuan(item.amountFen) });
  });
  // One person's balance and entries: the desk only, the rule the taps list and the event stream share.
  api.get('/wallet/:externalId', guards.role(...PERSONAL_DATA_ROLES), (req, res) => {
    const person = wallet.person(parse(personParams, req.params, 'params').externalId);
    const page = wallet.history(person.id, parse(historyQuery, req.query, 'query'));
    const balanceFen = wallet.balanceOf(person.id);
    res.json({ person, balanceFen, balance: yuan(balanceFen), pin: wallet.pins.state(person.id), entries: page.items.map(shown), nextBefore: page.nextBefore });
  });
  // The card holder chooses the PIN at the desk; setting it again also lifts a lock.
  api.put('/wallet/:externalId/pin', guards.role('admin'), async (req, res) => {
    const person = wallet.person(parse(personParams, req.params, 'params').externalId);
    await wallet.setPin(person.id, parse(pinBody, req.body).pin, sessionOf(res).username);
    res.json(wallet.pins.state(person.id));
  });
  api.delete('/wallet/:externalId/pin', guards.role('admin'), (req, res) => {
    const person = wallet.person(parse(personParams, req.params, 'params').externalId);
    wallet.pins.clear(person.id);
    res.json(wallet.pins.state(person.id));
  });
  api.post('/wallet/:externalId/topup', guards.role('admin'), (req, res) => {
    const { externalId } = parse(personParams, req.params, 'params');
    const body = parse(topupBody, req.body);
    const r = wallet.topUp(externalId, body.amountFen, body.reason, sessionOf(res).username);
    res.status(201).json({ entry: shown(r.entry), balanceFen: r.balanceFen, balance: yuan(r.balanceFen) });
  });
  api.post('/wallet/:externalId/refund', guards.role('admin'), (req, res) => {
    const { externalId } = parse(personParams, req.params, 'params');
    const body = parse(refundBody, req.body);
    const r = wallet.refund(externalId, body.amountFen, body.reason, sessionOf(res).username, body.entryId);
    res.status(201).json({ entry: shown(r.entry), balanceFen: r.balanceFen, balance: yuan(r.balanceFen) });
  });
  api.post('/wallet/:externalId/correction', guards.role('admin'), (req, res) => {
    const { externalId } = parse(personParams, req.params, 'params');
    const body = parse(correctionBody, req.body);
    const r = wallet.correct(externalId, body.amountFen, body.reason, sessionOf(res).username);
    res.status(201).json({ entry: shown(r.entry), balanceFen: r.balanceFen, balance: yuan(r.balanceFen) });
  });
}
