#!/usr/bin/env node
// Checks the package graph: every @mrm import is declared, follows the dependency direction of
// docs/architecture.md, never reaches into another package's files, and forms no cycle.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Which @mrm packages each package may import. `*` means any; `!name` excepts one. The CLI
 * imports @mrm/benchmarks (lazily, for `mrm baseline` and `mrm bench`), so benchmarks may import
 * every package but the CLI (docs/decisions/0010-baselines-in-benchmarks.md).
 */
const ALLOWED = {
  core: [],
  input: ['core'],
  'store-lmdb': ['core'],
  'transport-nats': ['core'],
  coordinator: ['core', 'input'],
  'map-worker': ['core', 'input'],
  'merge-worker': ['core'],
  runtime: ['core'],
  testkit: ['core', 'runtime'],
  cli: ['*'],
  benchmarks: ['*', '!cli'],
};

const root = new URL('..', import.meta.url).pathname;

/** True when package `name` declares `./<sub>` in its `exports`. */
function declaredEntry(name, sub) {
  const pkg = JSON.parse(readFileSync(join(root, 'packages', name, 'package.json'), 'utf8'));
  return Object.hasOwn(pkg.exports ?? {}, `./${sub}`);
}
const dirs = Object.keys(ALLOWED).map((name) => [
  name,
  name === 'benchmarks' ? join(root, 'benchmarks') : join(root, 'packages', name),
]);
const problems = [];
const graph = new Map();

function* files(dir) {
  for (const entry of readdirSync(dir)) {
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) yield* files(p);
    else if (/\.(ts|mts|js|mjs)$/.test(entry) && !entry.endsWith('.d.ts')) yield p;
  }
}

for (const [name, dir] of dirs) {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const declared = new Set(Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }));
  const used = new Set();
  for (const file of files(join(dir, 'src'))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(
      /^\s*(?:import|export)\b[^;]*?from\s*['"](@mrm\/[^'"]+)['"]|\bimport\(\s*['"](@mrm\/[^'"]+)['"]/gm,
    )) {
      const spec = m[1] ?? m[2];
      const parts = spec.split('/');
      const target = parts[1];
      const where = file.slice(root.length);
      if (parts.length > 2 && !declaredEntry(target, parts.slice(2).join('/'))) {
        problems.push(`${where}: deep import '${spec}' (import a declared entry of the package)`);
      }
      if (!declared.has(`@mrm/${target}`))
        problems.push(`${where}: imports @mrm/${target} but ${name}/package.json does not declare it`);
      const allowed = ALLOWED[name];
      if (allowed.includes(`!${target}`) || (!allowed.includes('*') && !allowed.includes(target))) {
        problems.push(
          `${where}: ${name} may not import @mrm/${target} (allowed: ${allowed.join(', ') || 'nothing of ours'})`,
        );
      }
      used.add(target);
    }
  }
  graph.set(name, used);
}

// Cycle check (depth-first search over the package graph).
const state = new Map();
function visit(node, path) {
  if (state.get(node) === 'done') return;
  if (state.get(node) === 'active') {
    problems.push(`import cycle: ${[...path, node].join(' -> ')}`);
    return;
  }
  state.set(node, 'active');
  for (const next of graph.get(node) ?? []) visit(next, [...path, node]);
  state.set(node, 'done');
}
for (const node of graph.keys()) visit(node, []);

if (problems.length > 0) {
  for (const p of problems) console.error(`check-deps: ${p}`);
  process.exit(1);
}
console.log(`check-deps: ${graph.size} packages, dependency direction respected, no cycles`);
