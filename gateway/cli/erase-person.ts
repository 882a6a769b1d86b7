/** `campus-gateway erase-person <external-id> --reason TEXT`: erases a person who left (docs/privacy.md). */
import { join } from 'node:path';
import type { Command } from 'commander';
import { allMigrations } from '../compose.js';
import { systemClock } from '../core/clock.js';
import { erasePerson } from '../privacy/erasure.js';
import { openDatabase } from '../storage/db.js';
import { schemaState } from '../storage/upgrade-guard.js';
import { commandConfig, configOption, reportAndExit } from './common.js';

export function registerErasePerson(program: Command): void {
  program
    .command('erase-person')
    .description("erase a person who left: card and identity removed, taps and attendance deleted, wallet entries kept under a pseudonym")
    .argument('<external-id>', "the person's id from the roster (student number)")
    .requiredOption('--reason <text>', 'why (logged; write no names here)')
    .addOption(configOption())
    .action((externalId: string, opts: { reason: string; config?: string }) => {
      try {
        const config = commandConfig(opts);
        const file = join(config.dataDir, 'gateway.db');
        // Only on a database this release runs (the gateway may be running: SQLite's busy timeout lets this in).
        const state = schemaState(file, allMigrations());
        if (state.pending.length > 0 || state.current > state.code) {
          throw new Error(`${file} is at schema ${state.current}, this release at ${state.code}: run erase-person with the release the gateway runs`);
        }
        const db = openDatabase(file, []);
        try {
          const row = db.prepare('SELECT id FROM persons WHERE external_id = ?').get(externalId) as { id: number } | undefined;
          if (!row) throw new Error(`no person with external id ${externalId}`);
          const reason = opts.reason.trim();
          if (reason.length < 3) throw new Error('--reason: say why in at least 3 characters');
          const result = erasePerson(db, systemClock, row.id, `cli:${process.env.SUDO_USER ?? process.env.USER ?? 'unknown'}`, reason);
          process.stdout.write(`erased; the person is now ${result.pseudonym}\n${Object.entries(result.counts).map(([k, v]) => `  ${k}: ${v}`).join('\n')}\n`);
          for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
          process.stdout.write('backups taken before now still hold their data: they age out with backup.keep\n');
        } finally {
          db.close();
        }
      } catch (err) {
        reportAndExit(err);
      }
    });
}
