import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { sourceFiles } from '../test/support/source-files';

/**
 * No module of src/ imports itself through others, type-only imports included: a cycle means a
 * type or a function lives in the wrong module (move it to the one both sides can import), and
 * a cycle of values can leave one side reading the other's exports before they are set.
 */

const SRC = __dirname;


/** The src/ files a file imports (import, import type, export … from, import(), whose specifier may end in .js), by relative path only. */
function importsOf(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return importedFiles
    .map((ref) => ref.fileName)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => {
      const base = resolve(dirname(file), spec.replace(/\.js$/, ''));
      const found = [`${base}.ts`, join(base, 'index.ts')].find((candidate) => existsSync(candidate));
      if (!found) throw new Error(`${relative(SRC, file)} imports ${spec}, which is no .ts file`);
      return found;
    });
}

/** Every cycle's strongly connected set of files, each as one path round it (Tarjan, then a walk). */
function importCycles(graph: Map<string, string[]>): string[][] {
  let index = 0;
  const indexOf = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const visit = (v: string) => {
    indexOf.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!indexOf.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, indexOf.get(w)!));
    }
    if (low.get(v) === indexOf.get(v)) {
      const component: string[] = [];
      for (let w = stack.pop()!; ; w = stack.pop()!) {
        onStack.delete(w);
        component.push(w);
        if (w === v) break;
      }
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) components.push(component);
    }
  };
  for (const v of graph.keys()) if (!indexOf.has(v)) visit(v);
  return components.map((component) => pathRound(graph, new Set(component)));
}

/** One path from the set's first file back to it, through the set only (breadth first: the shortest). */
function pathRound(graph: Map<string, string[]>, members: Set<string>): string[] {
  const start = [...members].sort()[0]!;
  const cameFrom = new Map<string, string>();
  const queue = [start];
  for (let v = queue.shift(); v !== undefined; v = queue.shift()) {
    for (const w of graph.get(v) ?? []) {
      if (!members.has(w)) continue;
      if (w === start) {
        const path = [v];
        for (let p = v; p !== start; p = cameFrom.get(p)!) path.unshift(cameFrom.get(p)!);
        return [...path, start];
      }
      if (!cameFrom.has(w)) {
        cameFrom.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

test('no import cycles in src/', () => {
  const graph = new Map(sourceFiles(SRC).map((file) => [file, importsOf(file)]));
  expect(graph.size).toBeGreaterThan(100);
  const cycles = importCycles(graph).map((cycle) => cycle.map((file) => relative(SRC, file)).join(' -> '));
  expect(cycles).toEqual([]);
});

test('the cycle finder finds a cycle, a self-import, and nothing in a chain', () => {
  const graph = new Map([
    ['a', ['b']],
    ['b', ['c']],
    ['c', ['a', 'd']],
    ['d', []],
    ['e', ['e']],
    ['f', ['d']],
  ]);
  expect(importCycles(graph).sort()).toEqual([['a', 'b', 'c', 'a'], ['e', 'e']]);
});
