/**
 * The emergency broadcast to guardians when a lockdown starts or ends (issue 21): nothing goes on its own. Admin and
 * security see, under the lockdown switch, how many consenting guardians it would reach, edit the text the gateway
 * offers in each guardian language, and confirm; the gateway sends it once per lockdown change
 * (POST /notifications/emergency with `lockdownAt`), and this then says who sent it and when.
 */
import { getJson, send } from './api.js';
import { bool, isObj, num, obj, str, type Json } from './data.js';
import { append, h, replace } from './dom.js';
import { LANGS, t, type Lang } from './i18n/index.js';
import type { LockdownWatch } from './lockdown.js';
import { can, type Role } from './session.js';
import { fmtDateTime } from './time.js';
import { actionError, toast } from './ui.js';

/** The gateway's limit per text (gateway/notify/routes.ts). */
const TEXT_MAX = 300;

interface Plan {
  lockdown: { active: boolean; at: number };
  announced: { by: string; at: string; guardians: number } | null;
  guardians: number;
  byLanguage: Record<Lang, number>;
  texts: Record<Lang, string>;
}

function readPlan(j: Json): Plan | null {
  const l = obj(j, 'lockdown');
  const at = num(l, 'at');
  const texts = obj(j, 'texts');
  const recipients = obj(j, 'recipients');
  if (bool(j, 'enabled') !== true || !l || at === undefined || !texts || !recipients) return null;
  const a = obj(j, 'announced');
  const byLanguage = obj(recipients, 'byLanguage');
  return {
    lockdown: { active: bool(l, 'active') ?? false, at },
    announced: a ? { by: str(a, 'by') ?? '', at: str(a, 'at') ?? '', guardians: num(a, 'guardians') ?? 0 } : null,
    guardians: num(recipients, 'guardians') ?? 0,
    byLanguage: Object.fromEntries(LANGS.map((x) => [x, num(byLanguage, x) ?? 0])) as Record<Lang, number>,
    texts: Object.fromEntries(LANGS.map((x) => [x, str(texts, x) ?? ''])) as Record<Lang, string>,
  };
}

/** The texts to send, edited per guardian language, after a confirmation; null when cancelled. */
function editTexts(plan: Plan): Promise<Partial<Record<Lang, string>> | null> {
  // Only the languages someone reads; with nobody to reach, there is nothing to write.
  const langs = LANGS.filter((l) => plan.byLanguage[l] > 0);
  return new Promise((resolve) => {
    const fields = new Map<Lang, HTMLTextAreaElement>();
    const dialog = h('dialog', { class: 'dialog', 'data-test': 'emergency-dialog' });
    const done = (ok: boolean): void => {
      dialog.close();
      dialog.remove();
      resolve(ok ? Object.fromEntries([...fields].map(([l, f]) => [l, f.value.trim()])) : null);
    };
    append(
      dialog,
      h(
        'form',
        { method: 'dialog', onsubmit: (e: Event) => (e.preventDefault(), done(true)) },
        h('h2', {}, plan.lockdown.active ? t('emergency.titleStarted') : t('emergency.titleEnded')),
        h('p', {}, t('emergency.warning', { n: plan.guardians })),
        ...langs.map((l) => {
          const field = h('textarea', { name: `text-${l}`, rows: 4, maxlength: TEXT_MAX, required: true, 'data-test': `emergency-text-${l}` });
          field.value = plan.texts[l];
          fields.set(l, field);
          return h('label', { class: 'field' }, h('span', {}, t('emergency.textFor', { language: t(`lang.${l}`), n: plan.byLanguage[l] })), field);
        }),
        h(
          'div',
          { class: 'dialog-actions' },
          h('button', { type: 'button', class: 'btn', onclick: () => done(false) }, t('common.cancel')),
          h('button', { type: 'submit', class: 'btn danger', 'data-test': 'confirm' }, t('emergency.send', { n: plan.guardians })),
        ),
      ),
    );
    dialog.addEventListener('cancel', (e) => {
      e.preventDefault();
      done(false);
    });
    document.body.append(dialog);
    dialog.showModal();
    dialog.querySelector('textarea')?.focus();
  });
}

/**
 * The broadcast's part of the lockdown panel, kept current with the lockdown until `signal` aborts; empty for a
 * viewer, when notifications are off or not installed, or before any lockdown.
 */
export function emergencyControl(role: Role, watch: LockdownWatch, signal: AbortSignal): HTMLElement {
  const el = h('div', { class: 'emergency', 'data-test': 'emergency', hidden: true });
  if (!can.broadcastEmergency(role)) return el;
  let asked = 0;
  const load = async (): Promise<void> => {
    const n = ++asked;
    let plan: Plan | null = null;
    try {
      const j = await getJson<unknown>('/notifications/emergency');
      plan = isObj(j) ? readPlan(j) : null;
    } catch {
      // No notify module, or the gateway not answering: nothing to offer now; the lockdown panel above says the rest.
    }
    if (n !== asked || signal.aborted) return;
    render(plan);
  };
  const sendNow = async (plan: Plan): Promise<void> => {
    const texts = await editTexts(plan);
    if (!texts) return;
    try {
      const r = await send<Json>('POST', '/notifications/emergency', { texts, lockdownAt: plan.lockdown.at });
      toast(t('emergency.queued', { n: num(r, 'guardians') ?? 0 }));
    } catch (err) {
      actionError(err);
    }
    await load();
  };
  const render = (plan: Plan | null): void => {
    el.hidden = plan === null;
    if (!plan) return replace(el);
    const what = plan.lockdown.active ? t('emergency.started') : t('emergency.ended');
    if (plan.announced) {
      el.dataset.state = 'announced';
      return replace(
        el,
        h('p', { class: 'small', 'data-test': 'emergency-announced' }, t('emergency.announced', { what, n: plan.announced.guardians, by: plan.announced.by, at: fmtDateTime(plan.announced.at) })),
      );
    }
    el.dataset.state = 'pending';
    replace(
      el,
      h('p', { class: 'small' }, t('emergency.offer', { what, n: plan.guardians })),
      h(
        'button',
        { type: 'button', class: 'btn danger', 'data-test': 'emergency-open', disabled: plan.guardians === 0, onclick: () => void sendNow(plan) },
        t('emergency.open'),
      ),
    );
  };
  watch.on(() => void load(), signal);
  void load();
  return el;
}
