/** The signed-in user, kept in sessionStorage so closing the tab signs out (a shared guard-room PC). */
export type Role = 'admin' | 'security' | 'viewer';

export interface Session {
  token: string;
  username: string;
  role: Role;
  expiresAt: string;
  /** The school's IANA time zone, in which every time is shown (from the gateway at sign-in). */
  timezone?: string;
}

const KEY = 'campus.session';

export function loadSession(): Session | null {
  const raw = sessionStorage.getItem(KEY);
  if (!raw) return null;
  try {
    const s = JSON.parse(raw) as Partial<Session>;
    if (typeof s.token !== 'string' || typeof s.username !== 'string' || !isRole(s.role) || typeof s.expiresAt !== 'string') return null;
    if (Date.parse(s.expiresAt) <= Date.now()) return null;
    return { token: s.token, username: s.username, role: s.role, expiresAt: s.expiresAt, ...(typeof s.timezone === 'string' ? { timezone: s.timezone } : {}) };
  } catch {
    return null;
  }
}

export function saveSession(s: Session): void {
  sessionStorage.setItem(KEY, JSON.stringify(s));
}

export function clearSession(): void {
  sessionStorage.removeItem(KEY);
}

/** A session this tab signed in with and did not sign out of: it has expired, or the gateway ended it. */
export function sessionEnded(): boolean {
  return sessionStorage.getItem(KEY) !== null && loadSession() === null;
}

export function isRole(v: unknown): v is Role {
  return v === 'admin' || v === 'security' || v === 'viewer';
}

/** What each role is offered; the API enforces the same rules (the route guards in each gateway module). */
export const can = {
  handleAlerts: (r: Role): boolean => r === 'admin' || r === 'security',
  lockdown: (r: Role): boolean => r === 'admin' || r === 'security',
  /** Remote open of controller doors (POST /access-points/:id/open). */
  openDoor: (r: Role): boolean => r === 'admin' || r === 'security',
  /** The emergency message to guardians (POST /notifications/emergency). */
  broadcastEmergency: (r: Role): boolean => r === 'admin' || r === 'security',
  ptz: (r: Role): boolean => r === 'admin' || r === 'security',
  /** Pictures of people: the camera routes serve them to admin and security only. */
  snapshots: (r: Role): boolean => r === 'admin' || r === 'security',
  topUp: (r: Role): boolean => r === 'admin',
  /** 挂失 and taking a lost card back (POST /cards/:uid/lost, /unblock); a viewer gets no card numbers at all. */
  reportLost: (r: Role): boolean => r === 'admin' || r === 'security',
  /** The canteen's takings (GET /wallet/sales): not a viewer's, who sees who paid and could difference the totals. */
  salesTotals: (r: Role): boolean => r === 'admin' || r === 'security',
};
