import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

// The shape of src/ the design rests on: the configuration is read at the
// top and hands typed options down, nothing imports in a circle, and no file
// grows past one concept's worth of lines.

const SRC = resolve(__dirname, '..', '..', 'src');
const MAX_LINES = 400;
/** Folders below the configuration: none of them may import src/config. */
const BELOW_CONFIG = ['http', 'sinks', 'sources', 'registry', 'log', 'scheduler', 'server', 'model', 'status'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** The project files a module imports (import, export ... from, require('...') and import types alike). */
function localImports(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles
    .map((ref) => ref.fileName)
    .filter((name) => name.startsWith('.'))
    .map((name) => {
      const base = resolve(dirname(file), name);
      for (const candidate of [`${base}.ts`, join(base, 'index.ts'), base]) {
        try {
          if (statSync(candidate).isFile()) return candidate;
        } catch {
          // try the next form
        }
      }
      throw new Error(`${relative(SRC, file)} imports ${name}, which does not exist`);
    });
}

const files = sourceFiles(SRC);
const graph = new Map(files.map((file) => [file, localImports(file)]));
const shape = suite('architecture of src/');

shape('no module below the configuration imports src/config', () => {
  const offenders: string[] = [];
  for (const [file, imports] of graph) {
    const folder = relative(SRC, file).split('/')[0]!;
    if (!BELOW_CONFIG.includes(folder)) continue;
    for (const target of imports) if (relative(SRC, target).startsWith('config/')) offenders.push(`${relative(SRC, file)} -> ${relative(SRC, target)}`);
  }
  assert.equal(offenders, []);
});

shape('no import circle', () => {
  const state = new Map<string, 'open' | 'done'>();
  const circles: string[] = [];
  const visit = (file: string, path: string[]): void => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'open') {
      circles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(SRC, f)).join(' -> '));
      return;
    }
    state.set(file, 'open');
    for (const target of graph.get(file) ?? []) visit(target, [...path, file]);
    state.set(file, 'done');
  };
  for (const file of files) visit(file, []);
  assert.equal(circles, []);
});

shape(`no source file over ${MAX_LINES} lines`, () => {
  const long = files
    .map((file) => ({ file: relative(SRC, file), lines: readFileSync(file, 'utf8').split('\n').length }))
    .filter(({ lines }) => lines > MAX_LINES)
    .map(({ file, lines }) => `${file}: ${lines}`);
  assert.equal(long, []);
});

shape('the checks see the imports they are about (a known import is found)', () => {
  const cli = graph.get(join(SRC, 'cli.ts'))!;
  assert.ok(cli.includes(join(SRC, 'config', 'load-config.ts')), 'cli.ts imports config/load-config.ts');
});

shape.run();
