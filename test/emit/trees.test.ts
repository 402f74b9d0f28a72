// Tree ensembles in wasm (compiler/emit/trees.ts): both layouts, with and without binaryen's
// optimiser, score seeded random ensembles (numeric and categorical splits, three classes, DAG
// trees, missing values, NaN, ties with thresholds, f32-inexact thresholds) bit for bit like the
// reference walk. Run with `--import ./scripts/preload-binaryen.mjs`.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultTreeLayout, flatTreeData, type TreeLayout } from '../../compiler/emit/trees.js';
import {
  buildTreeModule,
  oracle,
  randomEnsemble,
  randomRows,
  treeScorer,
  type EnsembleSpec,
  type Gbdt,
} from './trees-harness.js';

const LAYOUTS: TreeLayout[] = ['branchy', 'flat'];
/** Flat walks with trees side by side (groups of 2/3/8 and the remainder walked one by one). */
const INTERLEAVES = [2, 3, 8];

const SPECS: { name: string; spec: EnsembleSpec; chunkNodes?: number }[] = [
  {
    name: 'scalar, numeric, full depth 4',
    spec: { trees: 20, depth: 4, features: 6, classes: 1, categorical: 0, catSize: 0, full: true },
  },
  {
    name: 'three classes, numeric + categorical, ragged depth 6',
    spec: { trees: 30, depth: 6, features: 8, classes: 3, categorical: 3, catSize: 12, full: false },
  },
  {
    name: 'DAG trees (shared subtrees), many categories',
    spec: {
      trees: 25,
      depth: 5,
      features: 5,
      classes: 3,
      categorical: 2,
      catSize: 40,
      full: false,
      share: 0.3,
    },
  },
  {
    name: 'branchy split into helper functions',
    spec: { trees: 40, depth: 5, features: 10, classes: 3, categorical: 2, catSize: 9, full: false },
    chunkNodes: 100,
  },
];

function check(
  coef: Gbdt,
  spec: EnsembleSpec,
  layout: TreeLayout,
  optimize: boolean,
  chunkNodes?: number,
  interleave?: number,
): void {
  const built = buildTreeModule(coef, layout, {
    optimize,
    ...(chunkNodes === undefined ? {} : { chunkNodes }),
    ...(interleave === undefined ? {} : { interleave }),
  });
  assert.equal(built.valid, true, 'binaryen validate');
  if (optimize) assert.equal(built.validOptimized, true, 'binaryen validate after optimize');
  assert.equal(WebAssembly.validate(built.bytes), true, 'WebAssembly.validate');
  const score = treeScorer(built, coef);
  const rows = randomRows(coef, spec, 400, 7 + spec.trees);
  for (const [i, row] of rows.entries()) {
    const want = oracle(coef, row);
    const got = score(row);
    for (let c = 0; c < coef.classes; c++)
      if (!Object.is(got[c], want[c]))
        assert.fail(`row ${i} class ${c}: wasm ${got[c]}, reference ${want[c]} (row ${JSON.stringify(row)})`);
  }
}

describe('emitTrees', () => {
  for (const { name, spec, chunkNodes } of SPECS) {
    for (const layout of LAYOUTS) {
      for (const optimize of [false, true]) {
        it(`${name}: ${layout}${optimize ? ', optimized' : ''}`, () => {
          for (const seed of [1, 2, 3])
            check(randomEnsemble(spec, seed * 1000 + spec.trees), spec, layout, optimize, chunkNodes);
        });
      }
    }
    for (const interleave of INTERLEAVES)
      it(`${name}: flat, ${interleave} trees side by side, optimized`, () => {
        for (const seed of [1, 2, 3])
          check(randomEnsemble(spec, seed * 1000 + spec.trees), spec, 'flat', true, undefined, interleave);
      });
  }

  it('a hand-written ensemble: ties, NaN, missing, -0, OOV, f32-inexact threshold', () => {
    const leafOf = (value: number) => ({
      split: 'leaf' as const,
      feature: -1,
      threshold: 0,
      categories: [],
      defaultLeft: false,
      left: -1,
      right: -1,
      value,
    });
    const coef: Gbdt = {
      kind: 'gbdt',
      classes: 2,
      inputWidth: 2,
      hyperparameters: {},
      base: new Float64Array([-0, 0.5]),
      trees: [
        {
          class: 0,
          nodes: [
            {
              split: 'numeric',
              feature: 0,
              threshold: 0.1,
              categories: [],
              defaultLeft: true,
              left: 2,
              right: 1,
              value: 0,
            },
            leafOf(-0),
            leafOf(0.3),
          ],
        },
        {
          class: 1,
          nodes: [
            {
              split: 'categorical',
              feature: 1,
              threshold: 0,
              categories: [0, 3, 3, 7, 9, 11],
              defaultLeft: false,
              left: 1,
              right: 2,
              value: 0,
            },
            leafOf(1e-17),
            leafOf(-2.5),
          ],
        },
        { class: 0, nodes: [leafOf(0.1)] },
      ],
    };
    const cells: (number | null)[] = [
      null,
      NaN,
      0.1,
      Math.fround(0.1),
      0.09999999999999999,
      -0,
      0,
      3,
      11,
      12,
      3.5,
      -1,
      2 ** 32 + 3,
      Infinity,
    ];
    for (const [layout, interleave] of [...LAYOUTS.map((l) => [l, 1] as const), ['flat', 2] as const])
      for (const optimize of [false, true]) {
        const score = treeScorer(buildTreeModule(coef, layout, { optimize, interleave }), coef);
        for (const a of cells)
          for (const b of cells) {
            const row = [a, b];
            // deepStrictEqual compares numbers with Object.is: -0 ≠ 0, NaN = NaN
            assert.deepEqual(score(row), oracle(coef, row), `${layout} ${JSON.stringify(row)}`);
          }
      }
  });

  it('an empty ensemble emits nothing; invalid trees are refused', () => {
    const coef: Gbdt = {
      kind: 'gbdt',
      classes: 1,
      inputWidth: 1,
      hyperparameters: {},
      base: new Float64Array([2]),
      trees: [],
    };
    for (const layout of LAYOUTS) assert.deepEqual(treeScorer(buildTreeModule(coef, layout), coef)([1]), [2]);
    const loop: Gbdt = {
      ...coef,
      trees: [
        {
          class: 0,
          nodes: [
            {
              split: 'numeric',
              feature: 0,
              threshold: 1,
              categories: [],
              defaultLeft: false,
              left: 0,
              right: 0,
              value: 0,
            },
          ],
        },
      ],
    };
    for (const layout of LAYOUTS) assert.throws(() => buildTreeModule(loop, layout), /after its parent/);
  });

  it('flat records: 16 bytes per node in preorder, a tree table, deduplicated bitsets', () => {
    const spec: EnsembleSpec = {
      trees: 10,
      depth: 3,
      features: 4,
      classes: 1,
      categorical: 0,
      catSize: 0,
      full: true,
    };
    const data = flatTreeData(randomEnsemble(spec, 5));
    assert.equal(data.tableOffset, 10 * 15 * 16);
    assert.equal(data.bytes.length, 10 * 15 * 16 + 10 * 4);
  });

  it('defaultTreeLayout: branchy for small ensembles, flat for large ones', () => {
    const small = randomEnsemble(
      { trees: 10, depth: 4, features: 5, classes: 1, categorical: 0, catSize: 0, full: true },
      1,
    );
    const large = randomEnsemble(
      { trees: 600, depth: 8, features: 5, classes: 1, categorical: 0, catSize: 0, full: true },
      1,
    );
    assert.equal(defaultTreeLayout(small), 'branchy');
    assert.equal(defaultTreeLayout(large), 'flat');
  });
});
