/**
 * Remote open of an access point's controller doors (POST /access-points/:id/open), for admin and security: a
 * confirmation with a required reason (the gateway logs it with the user), then the result on the access point's
 * card in the user's language: opened, partly opened, the controller did not answer, or the API's error.
 */
import { ApiError, send } from './api.js';
import { asList, bool, str, type Json } from './data.js';
import { h, replace } from './dom.js';
import { t } from './i18n/index.js';
import { nameOf } from './names.js';
import { errorText } from './server-text.js';
import { can, type Role } from './session.js';
import { fmtTime } from './time.js';
import { confirmDialog, toast } from './ui.js';

/** The gateway's limit for the reason (drivers/controllers/uhppote/module.ts). */
const REASON_MAX = 500;

/** Doors a door controller serves at this access point (readers with the `uhppote` driver). */
function controllerDoors(ap: Json): string[] {
  return asList(ap.readers)
    .filter((r) => str(r, 'driver') === 'uhppote')
    .map((r) => str(r, 'id') ?? '')
    .filter(Boolean);
}

/**
 * The button and its result line, or null when the role may not open doors or no controller door serves the point.
 * `lockdownActive`: the shell's lockdown state, read when the button is pressed.
 */
export function doorOpenControl(ap: Json, role: Role, lockdownActive: () => boolean): HTMLElement | null {
  const id = str(ap, 'id') ?? '';
  const doors = controllerDoors(ap);
  if (!can.openDoor(role) || !id || doors.length === 0) return null;
  const name = nameOf(ap);
  const result = h('p', { class: 'small door-open-result', 'data-test': 'door-open-result', role: 'status', hidden: true });
  const show = (kind: 'opened' | 'partial' | 'offline' | 'error', text: string): void => {
    result.hidden = false;
    result.dataset.result = kind;
    result.className = `small door-open-result ${kind === 'opened' ? 'ok' : 'bad'}`;
    replace(result, `${fmtTime(Date.now())} ${text}`);
    toast(text, kind === 'opened' ? 'ok' : 'error');
  };
  const button = h('button', { type: 'button', class: 'btn small', 'data-test': 'door-open' }, t('doors.open'));
  const open = async (): Promise<void> => {
    const r = await confirmDialog({
      title: t('doors.confirmTitle', { name }),
      // The guard may open a door during a lockdown (a first responder at the gate), but not without being told.
      message: `${lockdownActive() ? `${t('doors.duringLockdown')} ` : ''}${t('doors.confirmMessage', { doors: doors.length })}`,
      confirm: t('doors.open'),
      danger: true,
      note: 'required',
      noteMax: REASON_MAX,
      notePlaceholder: t('doors.reasonPlaceholder'),
    });
    if (!r.ok || !r.note) return;
    button.disabled = true;
    try {
      const answer = await send<Json>('POST', `/access-points/${encodeURIComponent(id)}/open`, { reason: r.note });
      const results = asList(answer, 'results');
      const failed = results.filter((x) => bool(x, 'ok') !== true).map((x) => str(x, 'readerId') ?? '');
      if (failed.length === 0) show('opened', t('doors.opened', { name }));
      else show('partial', t('doors.partlyOpened', { name, doors: failed.join(', ') }));
    } catch (err) {
      if (err instanceof ApiError && err.code === 'controller_offline') show('offline', t('doors.offline', { name }));
      else show('error', t('common.failedWith', { reason: errorText(err) }));
    } finally {
      button.disabled = false;
    }
  };
  button.addEventListener('click', () => void open());
  return h('div', { class: 'door-open', 'data-test': 'door-open-control' }, button, result);
}
