#!/usr/bin/env node
/**
 * Keeps the habits of issue 24 from coming back: a focused test (`.only`) hides the rest of the suite, and a
 * skipped test (`.skip`, `.skipIf`, `.todo`, a runtime `ctx.skip()`) makes CI green over a path it never ran.
 * A skip is allowed only with its reason on the same line, in the words `not applicable: <why>` (a test that
 * cannot run on this platform); .ci/run reports those in its closing count. Anything else a test needs, CI installs.
 *
 * Usage: node .ci/check-tests.mjs [dir...]   (default: every folder vitest collects tests from)
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const roots = process.argv.slice(2).length ? process.argv.slice(2) : ['test', 'drivers', 'cloud-sync', 'flows', 'gateway', 'config'];
const ONLY = /\b(?:describe|it|test|suite|bench)(?:\.\w+)*\.only\b/;
const SKIP = /\b(?:describe|it|test|suite|bench|ctx|context|t)(?:\.\w+)*\.(?:skip|skipIf|runIf|todo)\b/;
const REASON = /not applicable:\s*\S/;

function* testFiles(dir) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of entries) {
    if (name === 'node_modules' || name === 'dist') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* testFiles(path);
    else if (/\.(test|spec)\.[cm]?[jt]sx?$/.test(name)) yield path;
  }
}

const problems = [];
let files = 0;
for (const root of roots) {
  for (const file of testFiles(root)) {
    files++;
    readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
      const where = `${relative(process.cwd(), file)}:${i + 1}`;
      if (ONLY.test(line)) problems.push(`${where}: .only hides the rest of the suite\n    ${line.trim()}`);
      else if (SKIP.test(line) && !REASON.test(line)) {
        problems.push(`${where}: a skip without "not applicable: <why>" on the same line\n    ${line.trim()}`);
      }
    });
  }
}
if (problems.length) {
  console.error(`check-tests: ${problems.length} problem(s) in ${files} test files:\n${problems.join('\n')}`);
  process.exit(1);
}
console.log(`check-tests: ${files} test files, no .only, every skip says why it does not apply`);
