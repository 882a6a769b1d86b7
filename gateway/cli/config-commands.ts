import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig } from '../../config/load.js';
import { locateProblems } from '../../config/positions.js';
import { controllerScheduleNotes } from '../compose.js';
import { configWarnings } from './config-warnings.js';
import { hashSecret, generateSecret } from '../auth/secrets.js';
import { readSecret, reportAndExit } from './common.js';

export function registerConfigCommands(program: Command): void {
  program
    .command('check-config')
    .description('validate a config file; exits 2 with one line per problem')
    .argument('<file>')
    .action((file: string) => {
      try {
        const config = loadConfig({ file });
        process.stdout.write(
          `${file}: valid (school ${config.school.id}, ${config.readers.length} readers, ` +
            `${config.sensors.sensors.length} sensors, ${config.cameras.cameras.length} cameras)\n`,
        );
        // Door controllers decide alone: say which access rules they cannot apply and what they do instead.
        const aps = new Map(config.access.accessPoints.map((a) => [a.id, a]));
        for (const note of controllerScheduleNotes(config.controllers.devices, aps, config.readers)) process.stdout.write(`note: ${note}\n`);
        for (const w of configWarnings(config)) process.stderr.write(`warning: ${w}\n`);
      } catch (err) {
        // Each problem with the line and column of its field in the file.
        if (err instanceof ConfigError && err.source === file) {
          let text = '';
          try {
            text = readFileSync(file, 'utf8');
          } catch {
            // unreadable: the error already says so
          }
          if (text) reportAndExit(new ConfigError(err.source, locateProblems(file, text, err.problems)));
        }
        reportAndExit(err);
      }
    });

  program
    .command('hash-secret')
    .description('make a device secret and the hash to put in the config (`secretHash`); --stdin hashes a secret you choose')
    .option('--stdin', 'read the secret from standard input instead of generating one')
    .action(async (opts: { stdin?: boolean }) => {
      const secret = opts.stdin ? await readSecret('secret: ') : generateSecret();
      if (secret.length < 8) reportAndExit(new Error('a secret needs at least 8 characters'));
      const hash = await hashSecret(secret);
      if (!opts.stdin) process.stdout.write(`secret:     ${secret}\n`);
      process.stdout.write(`secretHash: ${hash}\n`);
    });
}
