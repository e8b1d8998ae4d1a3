#!/usr/bin/env node
// Run by scripts/release.sh: bundles dist/cli.js (what `npm run build` made)
// with esbuild into one CommonJS file for Node's single executable
// application, and writes the SEA configuration beside it.
//   node scripts/bundle.js <esbuild package dir> <out dir>
// What a single executable cannot read from a package folder goes into the
// bundle (src/bundle-info.ts): the version, the revision and the remote-write
// schema. The native `snappy` package stays outside: a SEA's require() loads
// only built-in modules, so the executable compresses with snappyjs, the
// fallback the npm install takes where snappy has no binary.
'use strict';
const { readFileSync, writeFileSync, mkdirSync } = require('node:fs');
const { join, resolve } = require('node:path');

const root = resolve(__dirname, '..');
const [esbuildDir, outDir] = process.argv.slice(2);
if (!esbuildDir || !outDir) throw new Error('usage: bundle.js <esbuild dir> <out dir>');
const esbuild = require(resolve(esbuildDir));

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const buildInfo = JSON.parse(readFileSync(join(root, 'dist', 'build-info.json'), 'utf8'));
const { getWriteRequestSchema } = require(join(root, 'dist', 'sinks', 'remote-write', 'write-request-schema.js'));
const bundle = {
  version: pkg.version,
  revision: buildInfo.revision ?? null,
  remoteWriteSchema: getWriteRequestSchema().root.toJSON(),
};

// The V8 flags of the npm-installed command: its `#!` line.
const shebang = readFileSync(join(root, 'src', 'cli.ts'), 'utf8').split('\n', 1)[0];
const m = /^#!\/usr\/bin\/env -S node(.*)$/.exec(shebang);
if (!m) throw new Error(`src/cli.ts: unexpected first line ${shebang}`);
const execArgv = m[1].trim().split(/\s+/).filter(Boolean);

mkdirSync(outDir, { recursive: true });
const result = esbuild.buildSync({
  entryPoints: [join(root, 'dist', 'cli.js')],
  outfile: join(outDir, 'bundle.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  external: ['snappy'],
  define: { __JVB_ADAPTER_BUNDLE__: JSON.stringify(JSON.stringify(bundle)) },
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
});
const inputs = Object.keys(result.metafile.inputs).length;
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
writeFileSync(
  join(outDir, 'sea-config.json'),
  `${JSON.stringify(
    {
      main: join(outDir, 'bundle.cjs'),
      output: join(outDir, 'sea-prep.blob'),
      disableExperimentalSEAWarning: true,
      // A code cache made by the build (without the V8 flags below) is rejected, with a warning, at start.
      useCodeCache: false,
      execArgv,
    },
    null,
    2,
  )}\n`,
);
process.stderr.write(`bundle: ${inputs} modules, ${bytes} bytes; V8 flags ${execArgv.join(' ')}\n`);
