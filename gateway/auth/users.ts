import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Clock } from '../core/clock.js';
import { GatewayError } from '../core/errors.js';
import type { Database, Migration } from '../storage/db.js';
import { hashSecret, verifySecret } from './secrets.js';

export const roleSchema = z.enum(['admin', 'security', 'viewer']);
export type Role = z.infer<typeof roleSchema>;

export const usernameSchema = z.string().regex(/^[A-Za-z0-9_.-]{2,32}$/, '2-32 letters, digits, "_", "." or "-"');

export interface Session {
  username: string;
  role: Role;
  expiresAt: number;
}

/** The password demo mode seeds, which a production gateway refuses to run with. */
export const DEMO_PASSWORD = 'campus-demo';

export const userMigrations: Migration[] = [
  {
    version: 2,
    name: 'users and sessions',
    up: `
      CREATE TABLE users (
        username TEXT PRIMARY KEY,
        role TEXT NOT NULL CHECK (role IN ('admin','security','viewer')),
        password_hash TEXT NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY,
        username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
        expires_at INTEGER NOT NULL
      );`,
  },
];

/** Why a new password will not do, or null. The demo's published password is refused like a short one. */
export function newPasswordProblem(username: string, current: string, next: string): string | null {
  if (next.length < 8) return 'at least 8 characters';
  if (next === current) return 'the same as the current password';
  if (next === DEMO_PASSWORD) return 'the published demo password';
  if (next.toLowerCase() === username.toLowerCase()) return 'the same as the username';
  return null;
}

/** A password found right, and the hash it was checked against. */
export interface PasswordCheck {
  role: Role;
  hash: string;
}

const tokenHash = (token: string): string => createHash('sha256').update(token).digest('hex');

/** Users with roles, and bearer-token sessions (only the token's hash is stored). */
export class UserStore {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly sessionTtlMs: number,
  ) {}

  async add(username: string, password: string, role: Role): Promise<void> {
    usernameSchema.parse(username);
    if (password.length < 8) throw new GatewayError('bad_request', 'password: at least 8 characters');
    const hash = await hashSecret(password);
    this.db
      .prepare(
        `INSERT INTO users (username, role, password_hash, created_at) VALUES (?, ?, ?, ?)
         ON CONFLICT(username) DO UPDATE SET role = excluded.role, password_hash = excluded.password_hash`,
      )
      .run(username, role, hash, new Date(this.clock.now()).toISOString());
    // A changed password or role ends the user's existing sessions.
    this.db.prepare('DELETE FROM sessions WHERE username = ?').run(username);
  }

  /** Removes a user; their sessions (console, API and Node-RED editor alike) end with them. */
  remove(username: string): boolean {
    return this.db.transaction(() => {
      this.db.prepare('DELETE FROM sessions WHERE username = ?').run(username);
      return this.db.prepare('DELETE FROM users WHERE username = ?').run(username).changes > 0;
    })();
  }

  list(): { username: string; role: Role; createdAt: string }[] {
    return this.db
      .prepare('SELECT username, role, created_at AS createdAt FROM users ORDER BY username')
      .all() as { username: string; role: Role; createdAt: string }[];
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM users').get() as { n: number }).n;
  }

  /** Users whose password is still the published demo password. */
  async usersWithDemoPassword(): Promise<string[]> {
    const rows = this.db.prepare('SELECT username, password_hash AS h FROM users').all() as { username: string; h: string }[];
    const out: string[] = [];
    for (const row of rows) if (await verifySecret(DEMO_PASSWORD, row.h)) out.push(row.username);
    return out;
  }

  /**
   * The user's role when the password is right, without opening a session (Node-RED's editor login). An unknown
   * username costs the same scrypt as a known one: answered at once (2 ms against ~60 ms), it told anyone which
   * accounts exist.
   */
  async verify(username: string, password: string): Promise<Role | null> {
    return (await this.checkPassword(username, password))?.role ?? null;
  }

  /** verify, with the hash that was checked: a session is opened only while it is still the user's (createSession). */
  async checkPassword(username: string, password: string): Promise<PasswordCheck | null> {
    const row = this.db.prepare('SELECT role, password_hash AS h FROM users WHERE username = ?').get(username) as
      | { role: Role; h: string }
      | undefined;
    if (!row) {
      this.dummyHash ??= hashSecret(randomBytes(16).toString('base64url'));
      await verifySecret(password, await this.dummyHash);
      return null;
    }
    return (await verifySecret(password, row.h)) ? { role: row.role, hash: row.h } : null;
  }

  /** A hash no password matches, made on the first unknown login (see verify). */
  private dummyHash: Promise<string> | undefined;

  async login(username: string, password: string): Promise<{ token: string; role: Role; expiresAt: number } | null> {
    const checked = await this.checkPassword(username, password);
    if (!checked) return null;
    const session = this.createSession(username, checked);
    return session ? { ...session, role: checked.role } : null;
  }

  /**
   * A new session for a user whose password was just verified (login, or the Node-RED editor's login, whose
   * editor token is this session's token: it ends with the session, on logout, expiry, a new password or role,
   * or the user's removal).
   */
  createSession(username: string, checked: PasswordCheck): { token: string; expiresAt: number } | null {
    // The password may have changed (or the user gone) during the ~50 ms its check took: an attacker review logged in
    // with the old password just after a change, and kept the session the change was meant to end.
    const now = this.db.prepare('SELECT password_hash AS h FROM users WHERE username = ?').get(username) as { h: string } | undefined;
    if (now?.h !== checked.hash) return null;
    const token = randomBytes(32).toString('base64url');
    const expiresAt = this.clock.now() + this.sessionTtlMs;
    this.db.prepare('DELETE FROM sessions WHERE expires_at < ?').run(this.clock.now());
    this.db.prepare('INSERT INTO sessions (token_hash, username, expires_at) VALUES (?, ?, ?)').run(tokenHash(token), username, expiresAt);
    return { token, expiresAt };
  }

  /** How long a session lives, in ms. */
  get sessionTtl(): number {
    return this.sessionTtlMs;
  }

  session(token: string): Session | null {
    const row = this.db
      .prepare(
        `SELECT s.username, u.role, s.expires_at AS expiresAt FROM sessions s JOIN users u USING (username)
         WHERE s.token_hash = ?`,
      )
      .get(tokenHash(token)) as Session | undefined;
    if (!row || row.expiresAt < this.clock.now()) return null;
    return row;
  }

  /**
   * The user's own password change: the current password first, as a login checks it. Every other session of the
   * user ends (a session left open on a shared desk PC, or taken); the one asking keeps going.
   */
  async changePassword(username: string, current: string, next: string, keepToken: string): Promise<'changed' | 'wrong_password'> {
    if (!(await this.verify(username, current))) return 'wrong_password';
    const weak = newPasswordProblem(username, current, next);
    if (weak) throw new GatewayError('bad_request', `newPassword: ${weak}`);
    const hash = await hashSecret(next);
    this.db.transaction(() => {
      this.db.prepare('UPDATE users SET password_hash = ? WHERE username = ?').run(hash, username);
      this.db.prepare('DELETE FROM sessions WHERE username = ? AND token_hash != ?').run(username, tokenHash(keepToken));
    })();
    return 'changed';
  }

  logout(token: string): void {
    this.db.prepare('DELETE FROM sessions WHERE token_hash = ?').run(tokenHash(token));
  }
}
