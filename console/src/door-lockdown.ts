/**
 * During a lockdown, whether each access point's controller doors are locked down, on its card on the Gates page: a
 * door controller that did not answer when the lockdown started still opens by its old card list (every student's
 * card), which the desk must see rather than assume (docs/controllers.md). From GET /controllers' `lockdown`.
 */
import { getJson, isConnectionError } from './api.js';
import { asList, isObj, str, type Json } from './data.js';
import { h, replace } from './dom.js';
import { t } from './i18n/index.js';

type DoorLockdown = 'applied' | 'applying' | 'not_applied';
/** The worst first: one controller not locked down is what the card says. */
const ORDER: DoorLockdown[] = ['not_applied', 'applying', 'applied'];
const TEXT = { applied: 'doors.lockdownApplied', applying: 'doors.lockdownApplying', not_applied: 'doors.lockdownNotApplied' } as const satisfies Record<DoorLockdown, string>;

/** Each access point's worst state over the controllers whose doors serve it. */
export function lockdownByPlace(controllers: readonly Json[]): Map<string, DoorLockdown> {
  const out = new Map<string, DoorLockdown>();
  for (const c of controllers) {
    const state = str(c, 'lockdown') as DoorLockdown | undefined;
    if (!state || !ORDER.includes(state)) continue;
    for (const door of Array.isArray(c.doors) ? c.doors.filter(isObj) : []) {
      const ap = str(door, 'accessPoint');
      if (!ap) continue;
      const had = out.get(ap);
      if (!had || ORDER.indexOf(state) < ORDER.indexOf(had)) out.set(ap, state);
    }
  }
  return out;
}

/** The lines on the access points' cards, by access point id; `refresh` reads the controllers again. */
export class DoorLockdownLines {
  private readonly lines = new Map<string, HTMLElement>();

  /** A hidden line for an access point's card, shown while a lockdown is on and a controller door serves it. */
  line(apId: string): HTMLElement {
    const el = h('p', { class: 'small door-lockdown', 'data-test': 'ap-lockdown', role: 'status', hidden: true });
    this.lines.set(apId, el);
    return el;
  }

  clear(): void {
    this.lines.clear();
  }

  async refresh(active: boolean): Promise<void> {
    let states = new Map<string, DoorLockdown>();
    if (active) {
      try {
        states = lockdownByPlace(asList(await getJson<unknown>('/controllers'), 'items'));
      } catch (err) {
        // Not answering leaves the lines as they were (the page's notice says it is stale); any other answer (a
        // gateway without controllers) shows none.
        if (isConnectionError(err)) return;
      }
    }
    for (const [ap, el] of this.lines) {
      const state = states.get(ap);
      el.hidden = !state;
      if (!state) continue;
      el.dataset.state = state;
      el.className = `small door-lockdown ${state === 'applied' ? 'ok' : 'bad'}`;
      replace(el, t(TEXT[state]));
    }
  }
}
