#!/usr/bin/env node
// Run by `npm run build` after tsc: records what was built in dist/build-info.json
// (read by src/version.ts for `--version` and the start-up log line), and makes
// dist/cli.js executable so a checkout can link it onto PATH.
//
// The revision is the git commit of the checkout (`git rev-parse --short HEAD`),
// or $GIT_REVISION when given (the Docker build passes it as a build argument:
// the build context has no .git), or null (a tarball or a copy without .git).
'use strict';
const { execFileSync } = require('node:child_process');
const { chmodSync, existsSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');

function revision() {
  const given = (process.env.GIT_REVISION || '').trim();
  if (given !== '') return /^[0-9a-f]{4,40}$/i.test(given) ? given.slice(0, 12).toLowerCase() : null;
  if (!existsSync(join(root, '.git'))) return null;
  try {
    const out = execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 10_000,
    }).trim();
    return /^[0-9a-f]{4,40}$/.test(out) ? out : null;
  } catch {
    return null; // git missing, or a repository without commits
  }
}

const info = { revision: revision() };
writeFileSync(join(root, 'dist', 'build-info.json'), `${JSON.stringify(info)}\n`);
chmodSync(join(root, 'dist', 'cli.js'), 0o755);
process.stderr.write(`dist/build-info.json: revision ${info.revision ?? '(none)'}\n`);
