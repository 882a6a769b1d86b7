/** People and cards under /api/v1. Everyone signed in may look; admins change; security may report a card lost. */
import type { Response, Router } from 'express';
import { z } from 'zod';
import { CARD_FORMATS } from '../core/card-number.js';
import { GatewayError } from '../core/errors.js';
import { sessionOf, type Guards } from '../http/guards.js';
import { parse } from '../http/validate.js';
import { cardTarget } from './card-keys.js';
import { cardIssueSchema, peopleQuerySchema, personCreateSchema, personUpdateSchema, scheduleGroupProblem, uidSchema } from './schema.js';
import type { CardBlocklist } from './blocklist.js';
import type { PeopleStore } from './store.js';
import type { PeopleFinder } from './search.js';
import { jsonFor, PERSONAL_DATA_ROLES, visibilityOf } from '../http/visibility.js';

// A person's number in this gateway. External ids go in the query (GET /people?externalId=): a school's student
// numbers are often all digits, and one path parameter meaning either would be ambiguous.
const NOT_AN_ID = 'a person\'s id here is the gateway\'s number for them (from GET /api/v1/people); for an external id use GET /api/v1/people?externalId=…';
export const idParams = z.object({ id: z.coerce.number({ error: NOT_AN_ID }).int({ error: NOT_AN_ID }).positive({ error: NOT_AN_ID }) });
export const uidParams = z.object({ uid: uidSchema });
export const noteBody = z.object({ note: z.string().max(500).optional() });
/** The search box: one line of text (a name or a card number is far shorter than 64), a short list back. */
export const searchQuery = z.object({
  q: z.string().trim().min(1).max(64),
  limit: z.coerce.number().int().min(1).max(20).default(8),
});
// `?since=` with nothing after it is no version, not version 0.
export const blocklistQuery = z.object({ since: z.preprocess((v) => (v === '' ? undefined : v), z.coerce.number().int().min(0).optional()) });

export function peopleRoutes(api: Router, guards: Guards, people: PeopleStore, finder: PeopleFinder, blocklist: CardBlocklist, scheduleGroups: readonly string[]): void {
  const groups = new Set(scheduleGroups);
  const checkGroup = <T extends { scheduleGroup?: string | undefined }>(body: T): T => {
    const problem = body.scheduleGroup === undefined ? null : scheduleGroupProblem(groups, body.scheduleGroup);
    if (problem) throw new GatewayError('bad_request', `body.scheduleGroup: ${problem}`);
    return body;
  };

  // Viewers see people and classes but no card UID (visibility.ts), and may not probe which cards exist.
  const desk = guards.role(...PERSONAL_DATA_ROLES);
  const send = (res: Response, value: unknown): void => {
    res.type('json').send(jsonFor(visibilityOf(sessionOf(res).role), value));
  };

  api.get('/people', (req, res) => {
    const { card, ...q } = parse(peopleQuerySchema, req.query, 'query');
    if (card && visibilityOf(sessionOf(res).role) !== 'full') throw new GatewayError('forbidden', 'looking people up by card is for admin and security');
    let keys: { uid: string; match: 'exact' | 'suffix' }[] | undefined;
    if (card) {
      // "Any printed form": every reading of the text that parses; a search is allowed to over-match.
      keys = [];
      for (const f of CARD_FORMATS) {
        const t = cardTarget(card, f);
        if (t.ok && !keys.some((k) => k.uid === t.uid && k.match === t.match)) keys.push({ uid: t.uid, match: t.match });
      }
    }
    send(res, people.search(q, keys));
  });

  // Before /people/:id, which would read "search" as an id. Viewers may search (they see names and classes on the
  // attendance page) but a number they type is not looked up as a card: card numbers are for admin and security.
  api.get('/people/search', (req, res) => {
    const { q, limit } = parse(searchQuery, req.query, 'query');
    const items = finder.search(q, { limit, cards: visibilityOf(sessionOf(res).role) === 'full' });
    res.json({ items, count: items.length });
  });

  api.post('/people', guards.role('admin'), (req, res) => {
    res.status(201).json(people.withCards(people.createPerson(checkGroup(parse(personCreateSchema, req.body)))));
  });

  api.get('/people/:id', (req, res) => {
    const { id } = parse(idParams, req.params, 'params');
    send(res, people.withCards(people.person(id)));
  });

  api.patch('/people/:id', guards.role('admin'), (req, res) => {
    const { id } = parse(idParams, req.params, 'params');
    res.json(people.withCards(people.updatePerson(id, checkGroup(parse(personUpdateSchema, req.body)))));
  });

  api.post('/people/:id/cards', guards.role('admin'), (req, res) => {
    const { id } = parse(idParams, req.params, 'params');
    const body = parse(cardIssueSchema, req.body);
    let uid = body.uid;
    let match: 'exact' | 'suffix' = 'exact';
    if (uid === undefined) {
      const t = cardTarget(body.number!, body.format!);
      if (!t.ok) throw new GatewayError('bad_request', `body.number: ${t.reason}`);
      ({ uid, match } = t);
    }
    const card = people.issueCard(id, { uid, match, validFrom: body.validFrom ?? null, validTo: body.validTo ?? null }, sessionOf(res).username);
    res.status(201).json(card);
  });

  // Before /cards/:uid, so that the literal path is never read as a UID.
  api.get('/cards/blocklist', desk, (req, res) => {
    res.json(blocklist.read(parse(blocklistQuery, req.query, 'query').since));
  });

  api.get('/cards/:uid', desk, (req, res) => {
    const { uid } = parse(uidParams, req.params, 'params');
    const card = people.card(uid);
    res.json({ ...card, person: people.person(card.personId) });
  });

  // 挂失: whoever is at the desk when a student comes in without their card.
  api.post('/cards/:uid/lost', guards.role('admin', 'security'), (req, res) => {
    const { uid } = parse(uidParams, req.params, 'params');
    parse(noteBody, req.body);
    const card = people.card(uid);
    if (card.status === 'blocked' || card.status === 'expired') {
      throw new GatewayError('conflict', `card ${uid} is ${card.status}; only an active card can be reported lost`);
    }
    res.json(people.setCardStatus(uid, 'lost', sessionOf(res).username));
  });

  api.post('/cards/:uid/block', guards.role('admin'), (req, res) => {
    const { uid } = parse(uidParams, req.params, 'params');
    parse(noteBody, req.body);
    res.json(people.setCardStatus(uid, 'blocked', sessionOf(res).username));
  });

  // Unblocking needs the authority that blocked: a lost card (security or admin), anything else (admin).
  api.post('/cards/:uid/unblock', guards.role('admin', 'security'), (req, res) => {
    const { uid } = parse(uidParams, req.params, 'params');
    parse(noteBody, req.body);
    const session = sessionOf(res);
    const card = people.card(uid);
    if (session.role !== 'admin' && card.status !== 'lost') {
      throw new GatewayError('forbidden', `role ${session.role} may only unblock a card reported lost; this one is ${card.status}`);
    }
    res.json(people.setCardStatus(uid, 'active', session.username));
  });
}
