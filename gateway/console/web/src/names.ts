/**
 * Names that alert data gives only by id (access points, cameras, people), looked up once per tab so that a
 * message reads "王芳（S20250002）… 正门" in the console's language rather than ids. Forgotten at sign-out.
 */
import { getJson, isConnectionError } from './api.js';
import { asList, str } from './data.js';
import type { Alert } from './types.js';

const places = new Map<string, string>();
const cameras = new Map<string, string>();
const people = new Map<number, string>();
/** What has been asked for (answered or refused); a lookup the gateway did not answer is asked again later. */
const asked = new Set<string>();

export const placeName = (id: string): string | undefined => places.get(id);
export const cameraName = (id: string): string | undefined => cameras.get(id);
export const personName = (id: number | undefined): string | undefined => (id === undefined ? undefined : people.get(id));

async function ask(what: string, load: () => Promise<void>): Promise<boolean> {
  if (asked.has(what)) return false;
  asked.add(what);
  try {
    await load();
    return true;
  } catch (err) {
    if (isConnectionError(err)) asked.delete(what);
    return false;
  }
}

/** Looks up the names these alerts refer to that are not known yet; true when something was learnt. */
export async function learnNames(alerts: Alert[]): Promise<boolean> {
  const jobs: Promise<boolean>[] = [];
  if (alerts.some((a) => a.accessPoint)) {
    jobs.push(
      ask('places', async () => {
        for (const ap of asList(await getJson<unknown>('/access-points', { taps: 0 }), 'accessPoints')) {
          const id = str(ap, 'id');
          const name = str(ap, 'name');
          if (id && name) places.set(id, name);
        }
      }),
    );
  }
  if (alerts.some((a) => typeof a.data.cameraId === 'string')) {
    jobs.push(
      ask('cameras', async () => {
        for (const c of asList(await getJson<unknown>('/cameras'), 'cameras')) {
          const id = str(c, 'id');
          const name = str(c, 'name');
          if (id && name) cameras.set(id, name);
        }
      }),
    );
  }
  for (const a of alerts) {
    const id = a.data.personId;
    if (typeof id !== 'number' || !Number.isInteger(id)) continue;
    jobs.push(
      ask(`person:${id}`, async () => {
        const name = str(await getJson<Record<string, unknown>>(`/people/${id}`), 'name');
        if (name) people.set(id, name);
      }),
    );
  }
  return (await Promise.all(jobs)).some(Boolean);
}

export function forgetNames(): void {
  places.clear();
  cameras.clear();
  people.clear();
  asked.clear();
}
