import type { Database, Migration } from './db.js';

export const metaMigrations: Migration[] = [
  { version: 1, name: 'meta', up: 'CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)' },
];

export function getMeta(db: Database, key: string): string | undefined {
  return (db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined)?.value;
}

export function setMeta(db: Database, key: string, value: string): void {
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
}
