// Tree ensembles (`gbdt` components) as binaryen code, in two layouts with identical results:
// 'branchy' generates one nested if/else expression per tree (thresholds as f64 constants), split
// into helper functions `proml$trees…` for large ensembles; 'flat' writes the nodes into a data
// segment and walks every tree with one small generated loop.
// Input: the gbdt coefficients (abi/bundle.ts), the layout, and three i32 locals of the function
// being generated: x (f64[inputWidth] feature values; a category is its index), miss
// (u8[inputWidth], non-zero = missing) and out (f64[classes], holding the base margins).
// Output: statements that add each tree's leaf value to out[tree.class] in tree order, so the sums
// are bit-identical to the reference evaluator (compiler/reference/eval.ts, `case 'gbdt'`):
// `x < threshold` goes left (NaN goes right), a categorical split sends its listed indices left, and
// a missing value follows defaultLeft.
//
// Flat data (one segment at base B; every address below is an offset from B; little endian):
//   the categorical bitsets (bit k set = index k goes left; nbits = max index + 1, and bit nbits is
//   always present and 0, so out-of-range indices read it), deduplicated; then, 16-aligned, the
//   records, 16 bytes each, one tree after another in preorder (a split's left child is the next
//   record; a node shared by two parents is copied when it is a left child):
//     numeric split      +0 f64 threshold                     +8 u32 feature   +12 u32 right | flags
//     categorical split  +0 u32 bitset offset, +4 u32 nbits  +8 u32 feature   +12 u32 right | flags
//     leaf               +0 f64 value                         +8 u32 0         +12 u32 class·8 << 4 | flags (= 1)
//   flags (low 4 bits; records are 16-aligned): 1 leaf, 2 missing goes left, 4 categorical. A leaf's
//   +8 is feature 0, so a walk step may read a cell without asking whether it stands on a leaf;
//   then the tree table: u32 root offset per tree.

import binaryen from 'binaryen';
import type { ComponentCoefficients, GbdtNode, GbdtTree } from '../../abi/index.js';

type Ref = binaryen.ExpressionRef;
type Gbdt = Extract<ComponentCoefficients, { kind: 'gbdt' }>;

export type TreeLayout = 'branchy' | 'flat';

export interface TreeEnv {
  m: binaryen.Module;
  /** Adds a local of type t to the function being generated; returns its index. */
  addLocal(t: binaryen.Type): number;
  /** Places constant bytes in linear memory (an active data segment); returns the address (16-byte aligned). */
  addData(bytes: Uint8Array): number;
  /** A fresh unique label/name prefix for blocks and loops. */
  fresh(prefix: string): string;
}

export interface TreeOptions {
  /** branchy: most (expanded) nodes per generated helper function; the whole ensemble is inlined
   *  into the caller when it has at most this many (default BRANCHY_CHUNK_NODES). */
  chunkNodes?: number;
  /** flat: trees walked side by side (1 = one at a time; at most MAX_INTERLEAVE). Same results. */
  interleave?: number;
}

/** branchy: nodes per helper function. binaryen's optimiser costs ~25-50 µs per branchy node and
 *  grows faster than linearly with function size (bench/results/compile-trees.md). */
export const BRANCHY_CHUNK_NODES = 4096;
/** defaultTreeLayout: flat above this many nodes in total. Measured: flat compiles 10-30× faster
 *  (500 trees of depth 8: ~1 s vs ~12 s) and scores as fast or faster (its walk is branch-free),
 *  so branchy only keeps small ensembles (e.g. the fixtures' ≤ 8 trees of depth ≤ 4). */
export const FLAT_ABOVE_NODES = 4096;
/** defaultTreeLayout: flat for trees deeper than this (deeply nested ifs strain the optimiser). */
export const FLAT_ABOVE_DEPTH = 48;
/** branchy: categorical splits with more listed indices than this test a bitset, fewer an f64.eq chain. */
const EQ_CHAIN_MAX = 4;
/** Copies of shared nodes (trees that are DAGs) may grow an ensemble to at most this many nodes. */
const MAX_EXPANDED_NODES = 1 << 26;

const FLAG_LEAF = 1;
const FLAG_DEFAULT_LEFT = 2;
const FLAG_CATEGORICAL = 4;
const RECORD = 16;

/**
 * Statements that add every tree's leaf value to the class margins, in tree order (the reference's
 * order, so results are bit-identical): out[class] += leaf, f64.
 * x: local (i32) holding the address of f64[inputWidth] feature values;
 * miss: local (i32) holding the address of u8[inputWidth], 1 = missing;
 * out: local (i32) holding the address of f64[classes], already initialised with the base margins by the caller.
 */
export function emitTrees(
  env: TreeEnv,
  coef: Gbdt,
  layout: TreeLayout,
  x: number,
  miss: number,
  out: number,
  options: TreeOptions = {},
): Ref {
  checkTrees(coef);
  if (coef.trees.length === 0) return env.m.nop();
  return layout === 'flat'
    ? emitFlat(env, coef, x, miss, out, options.interleave ?? 1)
    : emitBranchy(env, coef, x, miss, out, options);
}

/** Default layout choice for an ensemble: branchy while small and shallow, flat beyond
 *  FLAT_ABOVE_NODES nodes in total or FLAT_ABOVE_DEPTH levels. */
export function defaultTreeLayout(coef: Gbdt): TreeLayout {
  let nodes = 0;
  let depth = 0;
  for (const tree of coef.trees) {
    nodes += tree.nodes.length;
    depth = Math.max(depth, treeDepth(tree));
  }
  return nodes > FLAT_ABOVE_NODES || depth > FLAT_ABOVE_DEPTH ? 'flat' : 'branchy';
}

// ---- shared ----

/** Depth (edges on the longest root-to-leaf path); children come after their parent. */
function treeDepth(tree: GbdtTree): number {
  const d = new Int32Array(tree.nodes.length);
  let max = 0;
  tree.nodes.forEach((n, i) => {
    if (n.split === 'leaf') return;
    const c = d[i]! + 1;
    max = Math.max(max, c);
    if (c > d[n.left]!) d[n.left] = c;
    if (c > d[n.right]!) d[n.right] = c;
  });
  return max;
}

/** The structural rules the emitted code relies on (checkBundle enforces them as PML3016). */
function checkTrees(coef: Gbdt): void {
  coef.trees.forEach((tree, t) => {
    const where = (i: number): string => `gbdt tree ${t} node ${i}`;
    if (!Number.isInteger(tree.class) || tree.class < 0 || tree.class >= coef.classes)
      throw new Error(`gbdt tree ${t}: class ${tree.class} out of range`);
    if (tree.nodes.length === 0) throw new Error(`gbdt tree ${t} has no nodes`);
    tree.nodes.forEach((n, i) => {
      if (n.split === 'leaf') return;
      if (!Number.isInteger(n.feature) || n.feature < 0 || n.feature >= coef.inputWidth)
        throw new Error(`${where(i)}: feature ${n.feature} out of range`);
      for (const c of [n.left, n.right])
        if (!Number.isInteger(c) || c <= i || c >= tree.nodes.length)
          throw new Error(`${where(i)}: child ${c} does not come after its parent in the tree`);
      if (n.split === 'categorical')
        for (const k of n.categories)
          if (!Number.isInteger(k) || k < 0 || k >= 2 ** 31)
            throw new Error(`${where(i)}: category index ${k} is not in 0..2^31-1`);
    });
  });
}

/** Bitset of the listed indices: nbits = max + 1, with room for bit nbits (always 0). */
function bitset(categories: readonly number[]): { bytes: Uint8Array; nbits: number } {
  const nbits = categories.length === 0 ? 0 : Math.max(...categories) + 1;
  const bytes = new Uint8Array((nbits >> 3) + 1);
  for (const k of categories) bytes[k >> 3]! |= 1 << (k & 7);
  return { bytes, nbits };
}

/** `f64 v` is one of the indices of a bitset at address `bits` (constant offset + i32 ptr):
 *  k = trunc_sat_u(v); convert(k) == v (an exact index; also rejects NaN) && bit[min(k, nbits)]. */
function bitsetTest(
  m: binaryen.Module,
  v: () => Ref,
  k: number,
  bitsPtr: Ref,
  bitsOffset: number,
  nbits: () => Ref,
): Ref {
  const exact = m.f64.eq(m.f64.convert_u.i32(m.local.tee(k, m.i32.trunc_u_sat.f64(v()), binaryen.i32)), v());
  // k = min(k, nbits); nbits is evaluated twice: callers pass a constant or a pure load
  const clamp = m.local.set(
    k,
    m.select(m.i32.lt_u(m.local.get(k, binaryen.i32), nbits()), m.local.get(k, binaryen.i32), nbits()),
  );
  const kc = (): Ref => m.local.get(k, binaryen.i32);
  const byte = m.i32.load8_u(bitsOffset, 1, m.i32.add(bitsPtr, m.i32.shr_u(kc(), m.i32.const(3))));
  const bit = m.i32.and(m.i32.shr_u(byte, m.i32.and(kc(), m.i32.const(7))), m.i32.const(1));
  return m.i32.and(exact, m.block(null, [clamp, bit], binaryen.i32));
}

// ---- branchy ----

/** Nodes of each tree with shared subtrees counted once per path (what nested ifs generate). */
function expandedSize(tree: GbdtTree): number {
  const size = new Float64Array(tree.nodes.length);
  for (let i = tree.nodes.length - 1; i >= 0; i--) {
    const n = tree.nodes[i]!;
    size[i] = n.split === 'leaf' ? 1 : 1 + size[n.left]! + size[n.right]!;
  }
  return size[0]!;
}

interface BranchyLocals {
  x: number;
  miss: number;
  out: number;
  /** f64 temporary (categorical value). */
  v: number;
  /** i32 temporary (category index). */
  k: number;
}

function emitBranchy(
  env: TreeEnv,
  coef: Gbdt,
  x: number,
  miss: number,
  out: number,
  options: TreeOptions,
): Ref {
  const { m } = env;
  const chunkNodes = options.chunkNodes ?? BRANCHY_CHUNK_NODES;
  const sizes = coef.trees.map(expandedSize);
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total > MAX_EXPANDED_NODES) throw new Error(`gbdt: ${total} nodes once shared subtrees are copied`);
  const bitsets = new Map<string, number>();
  const bitsetAddr = (categories: readonly number[]): { addr: number; nbits: number } => {
    const b = bitset(categories);
    const key = categories.join(',');
    let addr = bitsets.get(key);
    if (addr === undefined) bitsets.set(key, (addr = env.addData(b.bytes)));
    return { addr, nbits: b.nbits };
  };
  const treeStatements = (from: number, to: number, L: BranchyLocals): Ref[] => {
    const list: Ref[] = [];
    for (let t = from; t < to; t++) {
      const tree = coef.trees[t]!;
      const o = m.local.get(L.out, binaryen.i32);
      const sum = m.f64.add(m.f64.load(tree.class * 8, 8, o), treeExpr(m, tree, L, bitsetAddr));
      list.push(m.f64.store(tree.class * 8, 8, m.local.get(L.out, binaryen.i32), sum));
    }
    return list;
  };
  if (total <= chunkNodes) {
    const L = { x, miss, out, v: env.addLocal(binaryen.f64), k: env.addLocal(binaryen.i32) };
    return m.block(null, treeStatements(0, coef.trees.length, L), binaryen.none);
  }
  const prefix = `proml$trees$${env.fresh('chunk')}`;
  const params = binaryen.createType([binaryen.i32, binaryen.i32, binaryen.i32]);
  const calls: Ref[] = [];
  let from = 0;
  while (from < coef.trees.length) {
    let to = from;
    let nodes = 0;
    while (to < coef.trees.length && (to === from || nodes + sizes[to]! <= chunkNodes)) nodes += sizes[to++]!;
    const name = `${prefix}$${calls.length}`;
    const L = { x: 0, miss: 1, out: 2, v: 3, k: 4 };
    const body = m.block(null, treeStatements(from, to, L), binaryen.none);
    m.addFunction(name, params, binaryen.none, [binaryen.f64, binaryen.i32], body);
    calls.push(
      m.call(
        name,
        [m.local.get(x, binaryen.i32), m.local.get(miss, binaryen.i32), m.local.get(out, binaryen.i32)],
        binaryen.none,
      ),
    );
    from = to;
  }
  // binaryen inlines every function with one caller, which would rebuild the giant function the
  // chunks avoid (optimize time grows much faster than linearly with function size): mark them
  // noinline (Function::noFullInline/noPartialInline, kept by the module until it is emitted)
  const previous = binaryen.getPassArgument('no-inline');
  binaryen.setPassArgument('no-inline', `${prefix}$*`);
  m.runPasses(['no-inline']);
  binaryen.setPassArgument('no-inline', previous);
  return m.block(null, calls, binaryen.none);
}

/** One tree as an f64 expression: nested ifs down to the leaf values. */
function treeExpr(
  m: binaryen.Module,
  tree: GbdtTree,
  L: BranchyLocals,
  bitsetAddr: (categories: readonly number[]) => { addr: number; nbits: number },
): Ref {
  const gen = (i: number): Ref => {
    const n = tree.nodes[i]!;
    if (n.split === 'leaf') return m.f64.const(n.value);
    return m.if(splitCond(m, n, L, bitsetAddr), gen(n.left), gen(n.right));
  };
  return gen(0);
}

/** i32 condition "goes left" of a split node, missing values included. */
function splitCond(
  m: binaryen.Module,
  n: GbdtNode,
  L: BranchyLocals,
  bitsetAddr: (categories: readonly number[]) => { addr: number; nbits: number },
): Ref {
  const load = (): Ref => m.f64.load(n.feature * 8, 8, m.local.get(L.x, binaryen.i32));
  let test: Ref;
  if (n.split === 'numeric') {
    test = m.f64.lt(load(), m.f64.const(n.threshold));
  } else {
    const cats = [...new Set(n.categories)].sort((a, b) => a - b);
    if (cats.length === 0) test = m.i32.const(0);
    else if (cats.length === 1) test = m.f64.eq(load(), m.f64.const(cats[0]!));
    else if (cats.length <= EQ_CHAIN_MAX) {
      test = m.f64.eq(m.local.tee(L.v, load(), binaryen.f64), m.f64.const(cats[0]!));
      for (const c of cats.slice(1))
        test = m.i32.or(test, m.f64.eq(m.local.get(L.v, binaryen.f64), m.f64.const(c)));
    } else {
      const { addr, nbits } = bitsetAddr(cats);
      let first = true;
      const v = (): Ref => {
        if (!first) return m.local.get(L.v, binaryen.f64);
        first = false;
        return m.local.tee(L.v, load(), binaryen.f64);
      };
      test = bitsetTest(m, v, L.k, m.i32.const(0), addr, () => m.i32.const(nbits));
    }
  }
  const missing = m.i32.load8_u(n.feature, 1, m.local.get(L.miss, binaryen.i32));
  return n.defaultLeft ? m.i32.or(missing, test) : m.i32.and(m.i32.eqz(missing), test);
}

// ---- flat ----

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The flat data blob (see the header) and where its parts are, as offsets from its start. */
export function flatTreeData(coef: Gbdt): { bytes: Uint8Array; tableOffset: number; trees: number } {
  checkTrees(coef);
  // typed-array views write the records in the host's byte order; wasm's is little endian
  if (!LITTLE_ENDIAN) throw new Error('flat tree layout: big-endian hosts are not supported');
  // bitsets first, deduplicated
  const sets = new Map<string, { offset: number; nbits: number }>();
  const setOf = new Map<GbdtNode, { offset: number; nbits: number }>();
  const setBytes: [number, Uint8Array][] = [];
  let end = 0;
  let nodes = 0;
  for (const tree of coef.trees) {
    nodes += tree.nodes.length;
    for (const n of tree.nodes) {
      if (n.split !== 'categorical') continue;
      const cats = [...new Set(n.categories)].sort((x, y) => x - y);
      const key = cats.join(',');
      let s = sets.get(key);
      if (s === undefined) {
        const b = bitset(cats);
        sets.set(key, (s = { offset: end, nbits: b.nbits }));
        setBytes.push([end, b.bytes]);
        end += b.bytes.length;
      }
      setOf.set(n, s);
    }
  }
  const recordsStart = Math.ceil(end / RECORD) * RECORD;
  // records: preorder per tree; a split's right link is patched when its right child is placed
  let buf = new ArrayBuffer(recordsStart + (nodes + 1) * RECORD + Math.ceil(coef.trees.length / 4) * RECORD);
  let f64 = new Float64Array(buf);
  let u32 = new Uint32Array(buf);
  let at = recordsStart;
  const roots = new Uint32Array(coef.trees.length);
  const stackNode: number[] = [];
  const stackParent: number[] = [];
  coef.trees.forEach((tree, t) => {
    roots[t] = at;
    // first record of each node (a node shared by two parents is copied when it is a left child)
    const placed = new Int32Array(tree.nodes.length).fill(-1);
    stackNode.push(0);
    stackParent.push(-1);
    while (stackNode.length > 0) {
      const i = stackNode.pop()!;
      const parent = stackParent.pop()!;
      if (parent >= 0) {
        // a right child: link the parent to it (keeping the parent's flags)
        const seen = placed[i]!;
        const target = seen >= 0 ? seen : at;
        u32[(parent + 12) >> 2] = target | (u32[(parent + 12) >> 2]! & (RECORD - 1));
        if (seen >= 0) continue;
      }
      if (at + RECORD + coef.trees.length * 4 > buf.byteLength) {
        if (at >= MAX_EXPANDED_NODES * RECORD)
          throw new Error('gbdt: too many nodes once shared subtrees are copied');
        const bigger = new ArrayBuffer(buf.byteLength * 2);
        new Uint8Array(bigger).set(new Uint8Array(buf));
        buf = bigger;
        f64 = new Float64Array(buf);
        u32 = new Uint32Array(buf);
      }
      if (placed[i]! < 0) placed[i] = at;
      const n = tree.nodes[i]!;
      const w = at >> 2;
      if (n.split === 'leaf') {
        f64[at >> 3] = n.value;
        u32[w + 2] = 0;
        u32[w + 3] = ((tree.class * 8) << 4) | FLAG_LEAF;
      } else {
        let flags = n.defaultLeft ? FLAG_DEFAULT_LEFT : 0;
        if (n.split === 'numeric') f64[at >> 3] = n.threshold;
        else {
          const s = setOf.get(n)!;
          u32[w] = s.offset;
          u32[w + 1] = s.nbits;
          flags |= FLAG_CATEGORICAL;
        }
        u32[w + 2] = n.feature;
        u32[w + 3] = flags;
        stackNode.push(n.right, n.left);
        stackParent.push(at, -1);
      }
      at += RECORD;
    }
  });
  const tableOffset = at;
  const bytes = new Uint8Array(buf, 0, tableOffset + roots.byteLength);
  bytes.set(new Uint8Array(roots.buffer), tableOffset);
  for (const [offset, b] of setBytes) bytes.set(b, offset);
  return { bytes, tableOffset, trees: coef.trees.length };
}

/** The flat layout placed in memory: records and root table, then u32 walk steps per interleaved
 *  group (the deepest of its G trees), then u32 depth per tree (the row-blocked walk's steps). */
interface FlatPlaced {
  B: number;
  tableOffset: number;
  trees: number;
  G: number;
  groups: number;
  stepsOffset: number;
  depthsOffset: number;
}

function placeFlat(env: TreeEnv, coef: Gbdt, interleave: number): FlatPlaced {
  const { bytes: records, tableOffset, trees } = flatTreeData(coef);
  const G = Math.max(1, Math.min(MAX_INTERLEAVE, Math.floor(interleave)));
  const groups = G > 1 ? Math.floor(trees / G) : 0;
  const stepsOffset = records.length;
  const depthsOffset = stepsOffset + 4 * groups;
  const bytes = new Uint8Array(depthsOffset + 4 * trees);
  bytes.set(records);
  const depths = coef.trees.map(treeDepth);
  const steps = new Uint32Array(bytes.buffer, stepsOffset, groups);
  for (let gi = 0; gi < groups; gi++) steps[gi] = Math.max(...depths.slice(gi * G, gi * G + G));
  new Uint32Array(bytes.buffer, depthsOffset, trees).set(depths);
  return { B: env.addData(bytes), tableOffset, trees, G, groups, stepsOffset, depthsOffset };
}

function emitFlat(env: TreeEnv, coef: Gbdt, x: number, miss: number, out: number, interleave = 1): Ref {
  return emitFlatWalk(env, coef, placeFlat(env, coef, interleave), x, miss, out);
}

/** One row's walk over the placed flat layout: groups of G trees side by side, then the remaining trees one by one. */
function emitFlatWalk(env: TreeEnv, coef: Gbdt, P: FlatPlaced, x: number, miss: number, out: number): Ref {
  const { m } = env;
  const { B, tableOffset, trees, G, groups, stepsOffset } = P;
  const grouped =
    groups > 0 ? emitInterleaved(env, coef, B, tableOffset, stepsOffset, groups, G, x, miss, out) : null;
  const i32 = binaryen.i32;
  const tp = env.addLocal(i32);
  const p = env.addLocal(i32);
  const w = env.addLocal(i32);
  const f = env.addLocal(i32);
  const k = env.addLocal(i32);
  const left = env.addLocal(i32);
  const v = env.addLocal(binaryen.f64);
  const get = (l: number): Ref => m.local.get(l, i32);
  const treeLoop = env.fresh('proml$trees$tree');
  const walkLoop = env.fresh('proml$trees$walk');
  const leafBlock = env.fresh('proml$trees$leaf');
  const hasCategorical = coef.trees.some((tr) => tr.nodes.some((n) => n.split === 'categorical'));
  const numericTest = m.f64.lt(m.local.get(v, binaryen.f64), m.f64.load(B, 8, get(p)));
  const test = hasCategorical
    ? m.if(
        m.i32.and(get(w), m.i32.const(FLAG_CATEGORICAL)),
        bitsetTest(
          m,
          () => m.local.get(v, binaryen.f64),
          k,
          m.i32.load(B, 4, get(p)),
          B,
          () => m.i32.load(B + 4, 4, get(p)),
        ),
        numericTest,
      )
    : numericTest;
  const walk = m.loop(
    walkLoop,
    m.block(null, [
      m.local.set(w, m.i32.load(B + 12, 4, get(p))),
      m.br(leafBlock, m.i32.and(get(w), m.i32.const(FLAG_LEAF))),
      m.local.set(f, m.i32.load(B + 8, 4, get(p))),
      m.local.set(v, m.f64.load(0, 8, m.i32.add(get(x), m.i32.shl(get(f), m.i32.const(3))))),
      m.local.set(
        left,
        m.select(
          m.i32.load8_u(0, 1, m.i32.add(get(miss), get(f))),
          m.i32.and(get(w), m.i32.const(FLAG_DEFAULT_LEFT)),
          test,
        ),
      ),
      m.local.set(
        p,
        m.select(get(left), m.i32.add(get(p), m.i32.const(RECORD)), m.i32.and(get(w), m.i32.const(-RECORD))),
      ),
      m.br(walkLoop),
    ]),
  );
  const addr = (): Ref => m.i32.add(get(out), leafClassOffset(m, B, get(p)));
  if (groups * G === trees) return grouped!;
  return m.block(null, [
    ...(grouped === null ? [] : [grouped]),
    m.local.set(tp, m.i32.const(tableOffset + 4 * groups * G)),
    m.loop(
      treeLoop,
      m.block(null, [
        m.local.set(p, m.i32.load(B, 4, get(tp))),
        m.block(leafBlock, [walk]),
        m.local.set(f, addr()),
        m.f64.store(0, 8, get(f), m.f64.add(m.f64.load(0, 8, get(f)), m.f64.load(B, 8, get(p)))),
        m.local.set(tp, m.i32.add(get(tp), m.i32.const(4))),
        m.br(treeLoop, m.i32.lt_u(get(tp), m.i32.const(tableOffset + 4 * trees))),
      ]),
    ),
  ]);
}

/** Most trees walked side by side by the interleaved flat walk. */
export const MAX_INTERLEAVE = 8;

/**
 * The flat layout's trees walked G at a time (groups of consecutive trees): one loop advances every
 * tree of the group by one level per step, branch-free (a leaf stays where it is), for as many steps
 * as the group's deepest tree; then the G leaf values are added in tree order. The G walks are
 * independent dependency chains, so the CPU overlaps their loads (node records, feature values)
 * instead of waiting for one walk's loads at a time. Same records and the same test as the one-tree
 * walk, the same additions in the same order: bit-identical results.
 */
function emitInterleaved(
  env: TreeEnv,
  coef: Gbdt,
  B: number,
  tableOffset: number,
  stepsOffset: number,
  groups: number,
  G: number,
  x: number,
  miss: number,
  out: number,
): Ref {
  const { m } = env;
  const i32 = binaryen.i32;
  const get = (l: number): Ref => m.local.get(l, i32);
  const tp = env.addLocal(i32);
  const sp = env.addLocal(i32);
  const n = env.addLocal(i32);
  const hasCategorical = coef.trees.some((tr) => tr.nodes.some((nd) => nd.split === 'categorical'));
  const lanes = Array.from({ length: G }, () => newLane(env, hasCategorical));
  const groupLoop = env.fresh('proml$trees$group');
  const stepLoop = env.fresh('proml$trees$step');
  const stepDone = env.fresh('proml$trees$steps');
  const advance = (l: Lane): Ref[] => walkStep(m, B, l, x, 0, miss, 0, hasCategorical);
  const body: Ref[] = [];
  lanes.forEach((l, i) => body.push(m.local.set(l.p, m.i32.load(B + 4 * i, 4, get(tp)))));
  body.push(
    m.local.set(n, m.i32.load(B, 4, get(sp))),
    m.block(stepDone, [
      m.loop(
        stepLoop,
        m.block(null, [
          m.br(stepDone, m.i32.eqz(get(n))),
          ...lanes.flatMap(advance),
          m.local.set(n, m.i32.sub(get(n), m.i32.const(1))),
          m.br(stepLoop),
        ]),
      ),
    ]),
  );
  // leaves in tree order: out[class] += value
  for (const l of lanes)
    body.push(
      m.local.set(l.f, m.i32.add(get(out), leafClassOffset(m, B, get(l.p)))),
      m.f64.store(0, 8, get(l.f), m.f64.add(m.f64.load(0, 8, get(l.f)), m.f64.load(B, 8, get(l.p)))),
    );
  body.push(
    m.local.set(tp, m.i32.add(get(tp), m.i32.const(4 * G))),
    m.local.set(sp, m.i32.add(get(sp), m.i32.const(4))),
    m.br(groupLoop, m.i32.lt_u(get(sp), m.i32.const(stepsOffset + 4 * groups))),
  );
  return m.block(null, [
    m.local.set(tp, m.i32.const(tableOffset)),
    m.local.set(sp, m.i32.const(stepsOffset)),
    m.loop(groupLoop, m.block(null, body)),
  ]);
}

/** The locals of one walk advanced by walkStep: node p, its flags word w, feature f, value v (k: bitset scratch). */
interface Lane {
  p: number;
  w: number;
  f: number;
  v: number;
  k: number;
}

function newLane(env: TreeEnv, hasCategorical: boolean): Lane {
  return {
    p: env.addLocal(binaryen.i32),
    w: env.addLocal(binaryen.i32),
    f: env.addLocal(binaryen.i32),
    v: env.addLocal(binaryen.f64),
    k: hasCategorical ? env.addLocal(binaryen.i32) : -1,
  };
}

/**
 * One level of one walk, branch-free: a leaf stays where it is; a split goes to its left child
 * (the next record) when the value is missing and the split's default is left, or when it is present
 * and passes the test (`x < threshold`, or its index is in the bitset), else to its right link.
 * The feature cells are f64 at x + xOff + 8·feature, the missing flags u8 at miss + missOff + feature
 * (x, miss: i32 locals; the offsets let row-blocked walks address row k of a block with constants);
 * miss = -1: no value is missing (the flags are not read).
 */
function walkStep(
  m: binaryen.Module,
  B: number,
  l: Lane,
  x: number,
  xOff: number,
  miss: number,
  missOff: number,
  hasCategorical: boolean,
): Ref[] {
  const i32 = binaryen.i32;
  const f64 = binaryen.f64;
  const get = (local: number): Ref => m.local.get(local, i32);
  const numeric = (): Ref => m.f64.lt(m.local.get(l.v, f64), m.f64.load(B, 8, get(l.p)));
  const test = hasCategorical
    ? m.if(
        m.i32.and(get(l.w), m.i32.const(FLAG_CATEGORICAL)),
        bitsetTest(
          m,
          () => m.local.get(l.v, f64),
          l.k,
          m.i32.load(B, 4, get(l.p)),
          B,
          () => m.i32.load(B + 4, 4, get(l.p)),
        ),
        numeric(),
      )
    : numeric();
  const isLeaf = (): Ref => m.i32.and(get(l.w), m.i32.const(FLAG_LEAF));
  return [
    m.local.set(l.w, m.i32.load(B + 12, 4, get(l.p))),
    // a leaf's +8 is feature 0: its cell is read and not used
    m.local.set(l.f, m.i32.load(B + 8, 4, get(l.p))),
    m.local.set(l.v, m.f64.load(xOff, 8, m.i32.add(get(x), m.i32.shl(get(l.f), m.i32.const(3))))),
    m.local.set(
      l.p,
      m.select(
        isLeaf(),
        get(l.p),
        m.select(
          miss < 0
            ? test
            : m.select(
                m.i32.load8_u(missOff, 1, m.i32.add(get(miss), get(l.f))),
                m.i32.and(get(l.w), m.i32.const(FLAG_DEFAULT_LEFT)),
                test,
              ),
          m.i32.add(get(l.p), m.i32.const(RECORD)),
          m.i32.and(get(l.w), m.i32.const(-RECORD)),
        ),
      ),
    ),
  ];
}

/** A leaf record's class offset (class · 8, bytes into the margins): the flags word's upper bits. */
function leafClassOffset(m: binaryen.Module, B: number, p: Ref): Ref {
  return m.i32.shr_u(m.i32.load(B + 12, 4, p), m.i32.const(4));
}

/** Rows walked side by side by the row-blocked walk (emitBlockedTrees). */
export const BLOCK_LANES = 8;

/**
 * The flat layout walked tree-major over a block of rows: for each tree in bundle order, the block's
 * rows walk it BLOCK_LANES at a time, side by side (independent chains of loads, like the interleaved
 * walk's trees), for as many steps as the tree is deep; then each row adds its leaf. The rows left
 * over (fewer than BLOCK_LANES) take the one-row interleaved walk, so a batch of one row costs what it
 * costs without blocking. Every row adds its trees' leaves in tree order after its base margins, as
 * the one-row walk does: bit-identical results. What changes is locality: one tree's records stay in
 * L1 while the block's rows walk it, instead of every row streaming the whole forest from L2/L3.
 * x: i32 local holding the address of f64[rows][W] cells; miss: u8[rows][W] (non-zero = missing);
 * out: f64[rows][classes], set to the base margins here; rows: i32 local, the block's row count
 * (1..maxRows); interleave: trees side by side in the leftover rows' walk. Groups of rows none of
 * which misses a value walk without reading the missing flags.
 */
export function emitBlockedTrees(
  env: TreeEnv,
  coef: Gbdt,
  W: number,
  x: number,
  miss: number,
  out: number,
  rows: number,
  maxRows: number,
  interleave = 1,
): Ref {
  checkTrees(coef);
  const { m } = env;
  const i32 = binaryen.i32;
  const C = coef.classes;
  const get = (l: number): Ref => m.local.get(l, i32);
  const P = placeFlat(env, coef, interleave);
  const { B, tableOffset, trees, depthsOffset } = P;
  const hasCategorical = coef.trees.some((tr) => tr.nodes.some((nd) => nd.split === 'categorical'));
  const lanes = Array.from({ length: BLOCK_LANES }, () => newLane(env, hasCategorical));
  const [tp, root, steps, n, r, full, xb, mb, ob, a] = Array.from({ length: 10 }, () => env.addLocal(i32));
  const any = env.addLocal(binaryen.i64);
  const get64 = (l: number): Ref => m.local.get(l, binaryen.i64);
  // one flag byte per group of the largest block (scratch: zero bytes, not a data segment)
  const flags = env.addData(new Uint8Array(Math.ceil(maxRows / BLOCK_LANES)));
  const loop = (label: string, body: Ref[]): Ref => m.loop(label, m.block(null, body));
  const initLoop = env.fresh('proml$trees$base');
  const treeLoop = env.fresh('proml$trees$btree');
  const rowLoop = env.fresh('proml$trees$brow');
  const groupsDone = env.fresh('proml$trees$bgroups');
  const tailLoop = env.fresh('proml$trees$btail');
  const body: Ref[] = [];
  // base margins for every row of the block
  body.push(
    m.local.set(ob, get(out)),
    m.local.set(r, m.i32.const(0)),
    loop(initLoop, [
      ...coef.base.map((b, q) => m.f64.store(8 * q, 8, get(ob), m.f64.const(b))),
      m.local.set(ob, m.i32.add(get(ob), m.i32.const(8 * C))),
      m.local.set(r, m.i32.add(get(r), m.i32.const(1))),
      m.br(initLoop, m.i32.lt_u(get(r), get(rows))),
    ]),
  );
  if (trees === 0) return m.block(null, body);
  // the group's walk: with missing flags, or without them when none of its rows misses a value
  // (flags[group] = 0, computed below; reading no flags is ~1.4× faster on dense data)
  const steps8 = (withMiss: boolean): Ref => {
    const label = env.fresh('proml$trees$bstep');
    return m.block(`${label}$done`, [
      loop(label, [
        m.br(`${label}$done`, m.i32.eqz(get(n))),
        ...lanes.flatMap((l, k) =>
          walkStep(m, B, l, xb, k * 8 * W, withMiss ? mb : -1, k * W, hasCategorical),
        ),
        m.local.set(n, m.i32.sub(get(n), m.i32.const(1))),
        m.br(label),
      ]),
    ]);
  };
  const walkRows: Ref[] = [
    ...lanes.map((l) => m.local.set(l.p, get(root))),
    m.local.set(n, get(steps)),
    m.if(
      m.i32.load8_u(0, 1, m.i32.add(m.i32.const(flags), m.i32.shr_u(get(r), m.i32.const(3)))),
      steps8(true),
      steps8(false),
    ),
    // leaves: row k of the group adds its tree's leaf to out[k][class]
    ...lanes.flatMap((l, k) => [
      m.local.set(a, m.i32.add(get(ob), leafClassOffset(m, B, get(l.p)))),
      m.f64.store(
        k * 8 * C,
        8,
        get(a),
        m.f64.add(m.f64.load(k * 8 * C, 8, get(a)), m.f64.load(B, 8, get(l.p))),
      ),
    ]),
    m.local.set(xb, m.i32.add(get(xb), m.i32.const(BLOCK_LANES * 8 * W))),
    m.local.set(mb, m.i32.add(get(mb), m.i32.const(BLOCK_LANES * W))),
    m.local.set(ob, m.i32.add(get(ob), m.i32.const(BLOCK_LANES * 8 * C))),
    m.local.set(r, m.i32.add(get(r), m.i32.const(BLOCK_LANES))),
    m.br(rowLoop, m.i32.lt_u(get(r), get(full))),
  ];
  // rows in whole groups of BLOCK_LANES walk tree-major; the rest (fewer than BLOCK_LANES) one row at
  // a time with the interleaved walk, so a small batch costs what it costs without blocking
  body.push(m.local.set(full, m.i32.and(get(rows), m.i32.const(-BLOCK_LANES))));
  // flags[group] = whether some row of the group misses some value (OR of its 8·W flag bytes, W i64 words)
  const flagLoop = env.fresh('proml$trees$bflags');
  const wordLoop = env.fresh('proml$trees$bwords');
  body.push(
    m.local.set(r, m.i32.const(0)),
    m.local.set(mb, get(miss)),
    m.br(groupsDone, m.i32.eqz(get(full))),
    loop(flagLoop, [
      m.local.set(n, m.i32.const(0)),
      m.local.set(any, m.i64.extend_u(m.i32.const(0))),
      loop(wordLoop, [
        m.local.set(
          any,
          m.i64.or(get64(any), m.i64.load(0, 1, m.i32.add(get(mb), m.i32.shl(get(n), m.i32.const(3))))),
        ),
        m.local.set(n, m.i32.add(get(n), m.i32.const(1))),
        m.br(wordLoop, m.i32.lt_u(get(n), m.i32.const(W))),
      ]),
      m.i32.store8(
        0,
        1,
        m.i32.add(m.i32.const(flags), m.i32.shr_u(get(r), m.i32.const(3))),
        m.i32.eqz(m.i64.eqz(get64(any))),
      ),
      m.local.set(mb, m.i32.add(get(mb), m.i32.const(BLOCK_LANES * W))),
      m.local.set(r, m.i32.add(get(r), m.i32.const(BLOCK_LANES))),
      m.br(flagLoop, m.i32.lt_u(get(r), get(full))),
    ]),
  );
  body.push(
    m.local.set(tp, m.i32.const(0)),
    loop(treeLoop, [
      m.local.set(root, m.i32.load(B + tableOffset, 4, get(tp))),
      m.local.set(steps, m.i32.load(B + depthsOffset, 4, get(tp))),
      m.local.set(xb, get(x)),
      m.local.set(mb, get(miss)),
      m.local.set(ob, get(out)),
      m.local.set(r, m.i32.const(0)),
      loop(rowLoop, walkRows),
      m.local.set(tp, m.i32.add(get(tp), m.i32.const(4))),
      m.br(treeLoop, m.i32.lt_u(get(tp), m.i32.const(4 * trees))),
    ]),
  );
  const tail: Ref[] = [
    m.local.set(r, get(full)),
    m.local.set(xb, m.i32.add(get(x), m.i32.mul(get(full), m.i32.const(8 * W)))),
    m.local.set(mb, m.i32.add(get(miss), m.i32.mul(get(full), m.i32.const(W)))),
    m.local.set(ob, m.i32.add(get(out), m.i32.mul(get(full), m.i32.const(8 * C)))),
    m.block(`${tailLoop}$done`, [
      loop(tailLoop, [
        m.br(`${tailLoop}$done`, m.i32.ge_u(get(r), get(rows))),
        emitFlatWalk(env, coef, P, xb, mb, ob),
        m.local.set(xb, m.i32.add(get(xb), m.i32.const(8 * W))),
        m.local.set(mb, m.i32.add(get(mb), m.i32.const(W))),
        m.local.set(ob, m.i32.add(get(ob), m.i32.const(8 * C))),
        m.local.set(r, m.i32.add(get(r), m.i32.const(1))),
        m.br(tailLoop),
      ]),
    ]),
  ];
  return m.block(null, [m.block(groupsDone, body), ...tail]);
}
