import { join } from 'node:path';
import type { Command } from 'commander';
import { z } from 'zod';
import { DEMO_PASSWORD, roleSchema, userMigrations, UserStore } from '../auth/users.js';
import { systemClock } from '../core/clock.js';
import { metaMigrations } from '../storage/meta.js';
import { openDatabase } from '../storage/db.js';
import { commandConfig, configOption, readSecret, reportAndExit } from './common.js';

export function registerUserCommands(program: Command): void {
  const user = program.command('user').description('console and API users');
  user
    .command('add')
    .description('create a user, or set a new password and role for an existing one (password from stdin or a prompt)')
    .argument('<username>')
    .requiredOption('-r, --role <role>', 'admin | security | viewer')
    .addOption(configOption())
    .action(async (username: string, opts: { role: string; config?: string }) => {
      try {
        const role = roleSchema.parse(opts.role);
        const config = commandConfig(opts);
        const password = await readSecret(`password for ${username}: `);
        // `start` refuses to run outside demo mode while any user has it: say so now, not at the next start.
        if (password === DEMO_PASSWORD) throw new Error('password: that is the demo password, which start refuses outside demo mode; choose another');
        const db = openDatabase(join(config.dataDir, 'gateway.db'), [...metaMigrations, ...userMigrations]);
        try {
          await new UserStore(db, systemClock, 0).add(username, password, role);
        } finally {
          db.close();
        }
        process.stdout.write(`user ${username} (${role}) saved in ${config.dataDir}\n`);
      } catch (err) {
        if (err instanceof z.ZodError) reportAndExit(new Error(err.issues.map((i) => i.message).join('; ')));
        reportAndExit(err);
      }
    });
  user
    .command('remove')
    .description('delete a user; their console, API and flow-editor sessions end at once, also in a running gateway')
    .argument('<username>')
    .addOption(configOption())
    .action((username: string, opts: { config?: string }) => {
      try {
        const config = commandConfig(opts);
        const db = openDatabase(join(config.dataDir, 'gateway.db'), [...metaMigrations, ...userMigrations]);
        let removed: boolean;
        try {
          removed = new UserStore(db, systemClock, 0).remove(username);
        } finally {
          db.close();
        }
        if (!removed) throw new Error(`no user ${username} in ${config.dataDir}`);
        process.stdout.write(`user ${username} removed from ${config.dataDir}\n`);
      } catch (err) {
        reportAndExit(err);
      }
    });
  user
    .command('list')
    .addOption(configOption())
    .action((opts: { config?: string }) => {
      const config = commandConfig(opts);
      const db = openDatabase(join(config.dataDir, 'gateway.db'), [...metaMigrations, ...userMigrations]);
      for (const u of new UserStore(db, systemClock, 0).list()) process.stdout.write(`${u.username}\t${u.role}\t${u.createdAt}\n`);
      db.close();
    });
}
