/**
 * `campus-gateway city-sign` and `city-keygen`: what a city integrator needs to produce commands the gateway
 * executes (docs/city-contract/signing.md). Signing happens at the city, with the city's private key; the
 * school's config only ever holds the public half (cloud.commandKeys).
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { commandSchema } from '../../cloud-sync/contract.js';
import { loadPrivateKey, signCommand } from '../../cloud-sync/signing.js';
import { reportAndExit } from './common.js';

/** Exit 2 (usage or input), as for an invalid config. */
function refuse(problems: string[]): never {
  process.stderr.write(`${problems.join('\n')}\n`);
  process.exit(2);
}

async function readInput(file: string | undefined): Promise<string> {
  if (file && file !== '-') return readFileSync(file, 'utf8');
  let data = '';
  for await (const chunk of process.stdin) data += String(chunk);
  return data;
}

export function registerCitySign(program: Command): void {
  program
    .command('city-sign')
    .description('sign a city command (JSON from a file or stdin) with an Ed25519 private key; prints the signed command')
    .argument('[file]', 'command JSON; - or none reads stdin')
    .requiredOption('-k, --key <file>', 'the city\'s Ed25519 private key (PEM "BEGIN PRIVATE KEY")')
    .requiredOption('--kid <kid>', 'the key id the school has in cloud.commandKeys for the matching public key')
    .option('--expires-in <seconds>', 'also set expiresAt this many seconds after issuedAt')
    .option('--pretty', 'indent the output (the signature does not depend on formatting)')
    .action(async (file: string | undefined, opts: { key: string; kid: string; expiresIn?: string; pretty?: boolean }) => {
      try {
        let key;
        try {
          key = loadPrivateKey(readFileSync(opts.key, 'utf8'));
        } catch (err) {
          refuse([`--key ${opts.key}: ${(err as Error).message}`]);
        }
        const source = file && file !== '-' ? file : '(stdin)';
        let command: unknown;
        try {
          command = JSON.parse(await readInput(file));
        } catch (err) {
          refuse([`${source}: not JSON: ${(err as Error).message}`]);
        }
        if (typeof command !== 'object' || command === null || Array.isArray(command)) refuse([`${source}: expected a JSON object (one command)`]);
        const cmd = { ...(command as Record<string, unknown>) };
        cmd.issuedAt ??= new Date().toISOString();
        if (opts.expiresIn !== undefined) {
          const s = Number(opts.expiresIn);
          if (!Number.isFinite(s) || s <= 0) refuse([`--expires-in: expected a positive number of seconds, received "${opts.expiresIn}"`]);
          cmd.expiresAt = new Date(Date.parse(String(cmd.issuedAt)) + s * 1000).toISOString();
        }
        const signed = signCommand(cmd, key, opts.kid);
        // Refuse to sign what the gateway would ignore as malformed: the integrator learns it here, not from silence.
        const check = commandSchema.safeParse(signed);
        if (!check.success) refuse(check.error.issues.map((i) => `${source}: ${i.path.join('.') || '(root)'}: ${i.message}`));
        process.stdout.write(`${JSON.stringify(signed, null, opts.pretty ? 2 : undefined)}\n`);
      } catch (err) {
        reportAndExit(err);
      }
    });

  program
    .command('city-keygen')
    .description('make a new Ed25519 key pair for signing city commands; prints the public key as a cloud.commandKeys entry')
    .requiredOption('--kid <kid>', 'a name for the key, e.g. city-2026-09')
    .requiredOption('-o, --out <file>', 'where to write the private key (PEM, mode 0600; never overwritten)')
    .action((opts: { kid: string; out: string }) => {
      try {
        if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(opts.kid)) refuse(['--kid: letters, digits and _.:- (at most 64)']);
        const { publicKey, privateKey } = generateKeyPairSync('ed25519');
        try {
          writeFileSync(opts.out, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
        } catch (err) {
          refuse([`--out ${opts.out}: ${(err as NodeJS.ErrnoException).code === 'EEXIST' ? 'exists; not overwritten' : (err as Error).message}`]);
        }
        const raw = publicKey.export({ type: 'spki', format: 'der' }).subarray(-32).toString('base64');
        process.stdout.write(
          `# private key written to ${opts.out} (keep it at the city; the school never needs it)\n` +
            `# add to each school's config under cloud:\ncommandKeys:\n  - kid: ${opts.kid}\n    publicKey: ${raw}\n`,
        );
      } catch (err) {
        reportAndExit(err);
      }
    });
}
