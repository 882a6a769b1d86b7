import { Option } from 'commander';
import { demoConfig } from '../../config/demo.js';
import { ConfigError, loadConfig } from '../../config/load.js';
import type { GatewayConfig } from '../../config/schema.js';

/** Exit codes: 2 = invalid configuration or usage, 1 = anything else that stopped us. */
export function reportAndExit(err: unknown): never {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.source}: ${err.headline}\n${err.problems.join('\n')}\n`);
    process.exit(2);
  }
  process.stderr.write(`campus-gateway: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}

export const configOption = (): Option => new Option('-c, --config <file>', 'YAML config file (default: $CAMPUS_CONFIG)');
export const demoOption = (): Option => new Option('--demo', 'the demo school: sample data, simulated devices, demo users');

/** The config a command works on: the file (or $CAMPUS_CONFIG), over the demo school with --demo. */
export function commandConfig(opts: { config?: string; demo?: boolean }): GatewayConfig {
  return loadConfig({ file: opts.config, base: opts.demo ? demoConfig : undefined });
}

/** Reads a secret from stdin (first line) when piped, else prompts without echo. */
export async function readSecret(prompt: string): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    let data = '';
    for await (const chunk of stdin) data += String(chunk);
    return data.split(/\r?\n/)[0] ?? '';
  }
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding('utf8');
  return new Promise((resolve) => {
    let value = '';
    const onData = (ch: string): void => {
      if (ch === '\r' || ch === '\n' || ch === '\u0004') {
        stdin.setRawMode(false);
        stdin.pause();
        stdin.off('data', onData);
        process.stderr.write('\n');
        resolve(value);
      } else if (ch === '\u0003') {
        process.exit(130);
      } else if (ch === '\u007f') {
        value = value.slice(0, -1);
      } else {
        value += ch;
      }
    };
    stdin.on('data', onData);
  });
}
