// ONNX exports of the peer benchmark's models, built with onnx-proto from the same coefficient bundle
// proml compiles. Input: an abi Bundle (+ shapes). Output: ModelProto bytes (ir 8; ai.onnx opset 17,
// ai.onnx.ml opset 3) with a dynamic batch dimension N and one float output `p`, a probability per row.
// Graphs, each the plain way a converter would write it:
//   logistic  x[N,d] ─MatMul W[d,1]─Add b─Sigmoid─▶ p[N,1]
//   sparse    idx[N,k] ─Gather W─Mul val[N,k]─ReduceSum(1)─Add b─Sigmoid─▶ p[N]
//   game      member[N] ─LabelEncoder─Gather B[M+1,1+dm]─▶ (icpt, slopes·xm) + x·W + b ─Sigmoid─▶ p[N,1]
//   trees     x[N,f] ─TreeEnsembleRegressor (BRANCH_LT)─Sigmoid─▶ p[N,1]
//   mlp       x ─(Gemm transB, Relu)*─Gemm─Sigmoid─▶ p[N,1]

import onnxProto, { type onnx as O } from 'onnx-proto';
import type { Bundle, ComponentCoefficients } from '../../abi/index.js';

const { onnx } = onnxProto;
const T = onnx.TensorProto.DataType;
const A = onnx.AttributeProto.AttributeType;
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

type Attr =
  | { i: number }
  | { f: number }
  | { s: string }
  | { ints: number[] }
  | { floats: number[] }
  | { strings: string[] };

function attr(name: string, v: Attr): O.IAttributeProto {
  if ('i' in v) return { name, type: A.INT, i: v.i };
  if ('f' in v) return { name, type: A.FLOAT, f: v.f };
  if ('s' in v) return { name, type: A.STRING, s: utf8(v.s) };
  if ('ints' in v) return { name, type: A.INTS, ints: v.ints };
  if ('floats' in v) return { name, type: A.FLOATS, floats: v.floats };
  return { name, type: A.STRINGS, strings: v.strings.map(utf8) };
}

function node(
  opType: string,
  input: string[],
  output: string[],
  attrs: Record<string, Attr> = {},
  domain = '',
): O.INodeProto {
  return {
    opType,
    input,
    output,
    domain,
    name: `${opType}_${output[0]}`,
    attribute: Object.entries(attrs).map(([k, v]) => attr(k, v)),
  };
}

/** An initializer; numbers are stored as raw little-endian bytes. */
function init(name: string, dims: number[], data: Float32Array | BigInt64Array): O.ITensorProto {
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  return { name, dims, dataType: data instanceof Float32Array ? T.FLOAT : T.INT64, rawData: raw };
}

function value(name: string, elem: number, dims: (number | string)[]): O.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: elem,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function model(
  name: string,
  nodes: O.INodeProto[],
  initializer: O.ITensorProto[],
  inputs: O.IValueInfoProto[],
  output: O.IValueInfoProto,
): Uint8Array {
  const graph = { name, node: nodes, initializer, input: inputs, output: [output] };
  const m = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'proml bench/peers',
    opsetImport: [
      { domain: '', version: 17 },
      { domain: 'ai.onnx.ml', version: 3 },
    ],
    graph,
  });
  return onnx.ModelProto.encode(m).finish();
}

function component<K extends ComponentCoefficients['kind']>(
  b: Bundle,
  name: string,
  kind: K,
): Extract<ComponentCoefficients, { kind: K }> {
  const c = b.components.get(name);
  if (c?.kind !== kind) throw new Error(`onnx export: component '${name}' is not ${kind}`);
  return c as Extract<ComponentCoefficients, { kind: K }>;
}

const f32 = (x: ArrayLike<number>): Float32Array => Float32Array.from(x);

export function logistic(b: Bundle, d: number): Uint8Array {
  const c = component(b, 'lin', 'linear');
  return model(
    'logistic',
    [node('MatMul', ['x', 'W'], ['m']), node('Add', ['m', 'b'], ['z']), node('Sigmoid', ['z'], ['p'])],
    [init('W', [d, 1], f32(c.weights)), init('b', [1], f32(c.intercepts))],
    [value('x', T.FLOAT, ['N', d])],
    value('p', T.FLOAT, ['N', 1]),
  );
}

export function sparse(b: Bundle, buckets: number): Uint8Array {
  const c = component(b, 'lin', 'linear');
  return model(
    'sparse',
    [
      node('Gather', ['W', 'idx'], ['w'], { axis: { i: 0 } }),
      node('Mul', ['w', 'val'], ['wx']),
      node('ReduceSum', ['wx', 'axes'], ['m'], { keepdims: { i: 0 } }),
      node('Add', ['m', 'b'], ['z']),
      node('Sigmoid', ['z'], ['p']),
    ],
    [
      init('W', [buckets], f32(c.weights)),
      init('b', [1], f32(c.intercepts)),
      init('axes', [1], BigInt64Array.of(1n)),
    ],
    [value('idx', T.INT32, ['N', 'K']), value('val', T.FLOAT, ['N', 'K'])],
    value('p', T.FLOAT, ['N']),
  );
}

export function game(b: Bundle, ids: number[], dg: number, dm: number): Uint8Array {
  const g = component(b, 'fixed', 'linear');
  const re = component(b, 'per_member', 'random_effect');
  const w = 1 + dm;
  // one row per member in id order, then a zero row for unknown ids
  const table = new Float32Array((ids.length + 1) * w);
  ids.forEach((id, r) => table.set(re.blocks.get(String(id))!, r * w));
  return model(
    'game',
    [
      node(
        'LabelEncoder',
        ['member'],
        ['row'],
        {
          keys_int64s: { ints: ids },
          values_int64s: { ints: ids.map((_, r) => r) },
          default_int64: { i: ids.length },
        },
        'ai.onnx.ml',
      ),
      node('Gather', ['B', 'row'], ['blk'], { axis: { i: 0 } }),
      node('Slice', ['blk', 's0', 's1', 'ax1'], ['icpt']),
      node('Slice', ['blk', 's1', 'sw', 'ax1'], ['slopes']),
      node('Mul', ['slopes', 'xm'], ['sx']),
      node('ReduceSum', ['sx', 'ax1'], ['re0'], { keepdims: { i: 1 } }),
      node('Add', ['re0', 'icpt'], ['re']),
      node('MatMul', ['x', 'W'], ['m']),
      node('Add', ['m', 'b'], ['fixed']),
      node('Add', ['fixed', 're'], ['z']),
      node('Sigmoid', ['z'], ['p']),
    ],
    [
      init('B', [ids.length + 1, w], table),
      init('W', [dg, 1], f32(g.weights)),
      init('b', [1], f32(g.intercepts)),
      init('s0', [1], BigInt64Array.of(0n)),
      init('s1', [1], BigInt64Array.of(1n)),
      init('sw', [1], BigInt64Array.of(BigInt(w))),
      init('ax1', [1], BigInt64Array.of(1n)),
    ],
    [value('x', T.FLOAT, ['N', dg]), value('xm', T.FLOAT, ['N', dm]), value('member', T.INT64, ['N'])],
    value('p', T.FLOAT, ['N', 1]),
  );
}

export function trees(b: Bundle, features: number): Uint8Array {
  const c = component(b, 'trees', 'gbdt');
  const n = {
    treeids: [] as number[],
    nodeids: [] as number[],
    featureids: [] as number[],
    values: [] as number[],
    modes: [] as string[],
    truenodeids: [] as number[],
    falsenodeids: [] as number[],
    missing: [] as number[],
  };
  const t = {
    treeids: [] as number[],
    nodeids: [] as number[],
    ids: [] as number[],
    weights: [] as number[],
  };
  c.trees.forEach((tree, ti) =>
    tree.nodes.forEach((x, i) => {
      n.treeids.push(ti);
      n.nodeids.push(i);
      if (x.split === 'leaf') {
        n.featureids.push(0);
        n.values.push(0);
        n.modes.push('LEAF');
        n.truenodeids.push(0);
        n.falsenodeids.push(0);
        n.missing.push(0);
        t.treeids.push(ti);
        t.nodeids.push(i);
        t.ids.push(0);
        t.weights.push(x.value);
      } else {
        if (x.split !== 'numeric') throw new Error('onnx export: only numeric splits');
        // proml: x < threshold goes left; ORT BRANCH_LT: x < value goes to the true node
        n.featureids.push(x.feature);
        n.values.push(x.threshold);
        n.modes.push('BRANCH_LT');
        n.truenodeids.push(x.left);
        n.falsenodeids.push(x.right);
        n.missing.push(x.defaultLeft ? 1 : 0);
      }
    }),
  );
  return model(
    'trees',
    [
      node(
        'TreeEnsembleRegressor',
        ['x'],
        ['margin'],
        {
          nodes_treeids: { ints: n.treeids },
          nodes_nodeids: { ints: n.nodeids },
          nodes_featureids: { ints: n.featureids },
          nodes_values: { floats: n.values },
          nodes_modes: { strings: n.modes },
          nodes_truenodeids: { ints: n.truenodeids },
          nodes_falsenodeids: { ints: n.falsenodeids },
          nodes_missing_value_tracks_true: { ints: n.missing },
          target_treeids: { ints: t.treeids },
          target_nodeids: { ints: t.nodeids },
          target_ids: { ints: t.ids },
          target_weights: { floats: t.weights },
          n_targets: { i: 1 },
          base_values: { floats: [c.base[0]!] },
          aggregate_function: { s: 'SUM' },
          post_transform: { s: 'NONE' },
        },
        'ai.onnx.ml',
      ),
      node('Sigmoid', ['margin'], ['p']),
    ],
    [],
    [value('x', T.FLOAT, ['N', features])],
    value('p', T.FLOAT, ['N', 1]),
  );
}

export function mlp(b: Bundle): Uint8Array {
  const c = component(b, 'net', 'mlp');
  const nodes: O.INodeProto[] = [];
  const inits: O.ITensorProto[] = [];
  let h = 'x';
  c.layers.forEach((l, i) => {
    // bundle weights are row-major [outputs][inputs]: Gemm with transB = 1 takes them as they are
    inits.push(init(`W${i}`, [l.outputs, l.inputs], f32(l.weights)), init(`b${i}`, [l.outputs], f32(l.bias)));
    const last = i === c.layers.length - 1;
    nodes.push(node('Gemm', [h, `W${i}`, `b${i}`], [`g${i}`], { transB: { i: 1 } }));
    if (!last) nodes.push(node('Relu', [`g${i}`], [`h${i}`]));
    h = last ? `g${i}` : `h${i}`;
  });
  nodes.push(node('Sigmoid', [h], ['p']));
  return model(
    'mlp',
    nodes,
    inits,
    [value('x', T.FLOAT, ['N', c.inputWidth])],
    value('p', T.FLOAT, ['N', 1]),
  );
}
