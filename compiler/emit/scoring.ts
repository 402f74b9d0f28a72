// The scoring module: scalar code (one row per loop iteration) for scalar numeric, string and
// category inputs, the missing-value, arithmetic, logic and math ops, category labels (`label`,
// `lookup`, `bucketize`, comparisons), `onehot` and `hash` of one item, `length`, and global
// `linear` components (dense and one-item sparse features).
// Input: CheckedModel, its IR (lowerModel), the coefficient bundle. Output: wasm bytes (ABI v1,
// docs/abi.md) built with binaryen on top of the kernel module (compiler/kernels.ts), whose math
// functions are called by their internal names; anything else raises a PML31xx CompileError.

import binaryen from 'binaryen';
import {
  ALLOC_ALIGN,
  EXPORTS,
  INPUT_DESCRIPTOR,
  MANIFEST_SECTION,
  OUTPUT_DESCRIPTOR,
  ROW_ERRORS,
  WASM_PAGE,
  type Bundle,
  type Manifest,
} from '../../abi/index.js';
import type * as ir from '../ir.js';
import { kernelModuleBytes } from '../kernels.js';
import type { CheckedModel } from '../typed.js';
import { HASH_SEED, hashString, utf8 } from '../../abi/hash.js';
import { CompileError } from './errors.js';
import { buildManifest } from './manifest.js';

export interface EmitOptions {
  /** The .pml source text (its SHA-256 goes into the manifest). */
  sourceText: string;
  /** The bundle.json text the bundle was read from (manifest hashes), or null. */
  bundleJsonText?: string | null;
  compilerVersion?: string;
  /** Run binaryen's optimizer (default true). */
  optimize?: boolean;
  /** Kernel module bytes (default: kernelModuleBytes()). */
  kernelBytes?: Uint8Array;
}

export interface EmitResult {
  bytes: Uint8Array;
  manifest: Manifest;
}

/** Most rows per call (docs/abi.md: more is fatal code -1). */
const MAX_ROWS = 1 << 24;
const FEATURES =
  binaryen.Features.MVP |
  binaryen.Features.MutableGlobals |
  binaryen.Features.SIMD128 |
  binaryen.Features.BulkMemory |
  binaryen.Features.BulkMemoryOpt |
  binaryen.Features.SignExt |
  binaryen.Features.NontrappingFPToInt;

const KERNEL_FUNCTIONS = ['exp', 'log', 'log1p', 'sigmoid', 'tanh', 'sin', 'cos'] as const;
type KernelFn = (typeof KERNEL_FUNCTIONS)[number] | 'pow';

const SUPPORTED_OPS = new Set<ir.Op>([
  'input',
  'const',
  'default',
  'require',
  'inrange',
  'is_missing',
  'coalesce',
  'cast',
  'add',
  'sub',
  'mul',
  'div',
  'neg',
  'lt',
  'le',
  'gt',
  'ge',
  'eq',
  'ne',
  'and',
  'or',
  'not',
  'select',
  'min',
  'max',
  'abs',
  'floor',
  'clip',
  'sqrt',
  'component',
  'label',
  'lookup',
  'bucketize',
  'onehot',
  'hash',
  'length',
  'count',
  'overlap',
  'cross',
  'pow',
  ...KERNEL_FUNCTIONS,
]);
/** Ops whose result (or operands) may be a string, a category or a sparse vector. */
const NON_SCALAR_OK = new Set<ir.Op>([
  'input',
  'label',
  'lookup',
  'bucketize',
  'onehot',
  'hash',
  'default',
  'require',
  'const',
  'coalesce',
  'is_missing',
  'count',
  'overlap',
  'cross',
]);

/** Text kernels of assembly/text.ts, called by their internal names. */
type TextFn = 'murmur3' | 'utf8Valid' | 'codePointCount' | 'bytesEqual';

type S = ir.Scalar;
type Ref = binaryen.ExpressionRef;

function scalarOf(n: ir.Node, what: string): { s: S; opt: boolean } {
  if (n.type.k !== 'scalar')
    throw new CompileError(
      'unsupportedOp',
      `not supported yet by this back end: ${what} of type ${n.type.k}`,
    );
  return n.type;
}

/** The wasm type a scalar is held in (bool as i32 0/1). */
function wasmType(s: S): binaryen.Type {
  return s === 'f32' ? binaryen.f32 : s === 'f64' ? binaryen.f64 : binaryen.i32;
}

/** Rejects what this slice does not implement, before any code is generated. */
function checkSupported(checked: CheckedModel, mod: ir.Module, bundle: Bundle): void {
  mod.inputs.forEach((inp, i) => {
    if (inp.type.k !== 'scalar' && inp.type.k !== 'str' && inp.type.k !== 'entity' && inp.type.k !== 'bag')
      throw new CompileError(
        'unsupportedInput',
        `not supported yet by this back end: input '${inp.name}' of type ${checked.inputs[i]?.declared.kind ?? inp.type.k}`,
      );
  });
  for (const n of mod.nodes) {
    if (!SUPPORTED_OPS.has(n.op))
      throw new CompileError('unsupportedOp', `not supported yet by this back end: ${n.op}`);
    if (n.op !== 'component' && !NON_SCALAR_OK.has(n.op)) scalarOf(n, n.op);
  }
  for (const c of mod.components) {
    const what = `component '${c.name}'`;
    if (c.kind !== 'linear')
      throw new CompileError('unsupportedComponent', `not supported yet by this back end: ${c.kind} ${what}`);

    if (c.outputWidth !== 1)
      throw new CompileError(
        'unsupportedComponent',
        `not supported yet by this back end: ${what} with classes`,
      );
    for (const f of c.features) {
      const fn = mod.nodes[f.node]!;
      const t = fn.type;
      if (t.k === 'sparse' && (fn.op === 'onehot' || fn.op === 'hash' || fn.op === 'cross')) continue;
      if (t.k !== 'scalar' || f.width !== 1)
        throw new CompileError(
          'unsupportedComponent',
          `not supported yet by this back end: ${what} feature '${f.text}' of type ${t.k}`,
        );
      if (t.opt)
        throw new CompileError('unsupportedComponent', `${what}: feature '${f.text}' may be missing`);
    }
    const coef = bundle.components.get(c.name);
    if (coef === undefined)
      throw new CompileError('missingCoefficients', `the bundle has no coefficients for ${what}`);
    if (c.per !== null) {
      if (
        coef.kind !== 'random_effect' ||
        coef.classes !== 1 ||
        coef.inputWidth !== c.inputWidth ||
        coef.intercept !== c.intercept ||
        coef.blockWidth !== (coef.intercept ? 1 : 0) + c.inputWidth
      )
        throw new CompileError(
          'missingCoefficients',
          `the bundle's coefficients for ${what} do not fit its shape`,
        );
      continue;
    }
    if (coef.kind !== 'linear' || coef.classes !== 1 || coef.inputWidth !== c.inputWidth)
      throw new CompileError(
        'missingCoefficients',
        `the bundle's coefficients for ${what} do not fit its shape`,
      );
  }
  for (const o of mod.outputs) {
    if (o.type.k !== 'scalar')
      throw new CompileError(
        'unsupportedOutput',
        `not supported yet by this back end: output '${o.name}' of type ${o.type.k}`,
      );
  }
  if (checked.outputs.map((o) => o.name).join('\0') !== mod.outputs.map((o) => o.name).join('\0'))
    throw new CompileError('invalidModule', 'internal error: IR outputs differ from the checked model');
}

/** Locals of one function: params first, then vars added on demand. */
class Locals {
  readonly vars: binaryen.Type[] = [];
  constructor(private readonly params: number) {}
  add(t: binaryen.Type): number {
    this.vars.push(t);
    return this.params + this.vars.length - 1;
  }
}

/** A node's value at run time: a local holding the value, and one holding the presence bit (null: always present). */
interface Val {
  v: number;
  p: number | null;
  s: S;
  /** Strings: the local holding the byte length (v holds the address). Bags: the end item. */
  len?: number;
  /** Bags: the input index. */
  bag?: number;
  /** Sparse with many items: v holds the address of the bucket list, len its length. */
  multi?: boolean;
}

/** Compiles a checked model + IR + bundle into a scoring module (bytes and the manifest embedded). */
export async function emitScoringModule(
  checked: CheckedModel,
  mod: ir.Module,
  bundle: Bundle,
  options: EmitOptions,
): Promise<EmitResult> {
  checkSupported(checked, mod, bundle);
  const kernelBytes = options.kernelBytes ?? (await kernelModuleBytes());
  const kernelHeapBase = (
    new WebAssembly.Instance(new WebAssembly.Module(kernelBytes)).exports as { heapBase: () => number }
  ).heapBase();
  const m = binaryen.readBinary(kernelBytes);
  try {
    return build(m, checked, mod, bundle, options, kernelHeapBase);
  } finally {
    m.dispose();
  }
}

/** binaryen 132's i64.const takes one bigint (its typings still say two halves). */
function i64c(m: binaryen.Module, v: bigint): Ref {
  return (m.i64.const as unknown as (v: bigint) => Ref)(v);
}

function align16(x: number): number {
  return Math.ceil(x / ALLOC_ALIGN) * ALLOC_ALIGN;
}

function build(
  m: binaryen.Module,
  checked: CheckedModel,
  mod: ir.Module,
  bundle: Bundle,
  options: EmitOptions,
  kernelHeapBase: number,
): EmitResult {
  // ---- kernel linking: remember the internal names of the kernel exports, then drop every export
  const kernel = new Map<string, string>();
  const kernelExports: string[] = [];
  for (let i = 0; i < m.getNumExports(); i++) {
    const e = binaryen.getExportInfo(m.getExportByIndex(i));
    kernelExports.push(e.name);
    if (e.kind === binaryen.ExternalFunction) kernel.set(e.name, e.value);
  }
  for (const name of kernelExports) m.removeExport(name);
  const kernelFn = (fn: KernelFn, s: 'f32' | 'f64'): string => {
    const name = `${fn}${s === 'f32' ? 'F32' : 'F64'}`;
    const internal = kernel.get(name);
    if (internal === undefined) throw new CompileError('invalidModule', `the kernel module has no '${name}'`);
    return internal;
  };

  // ---- data: the kernel's segments, then the linear weights (f32 when every value is exactly an f32)
  const segments: binaryen.MemorySegment[] = [];
  // binaryen.js 132 has these at run time; its typings lag behind
  const dm = m as unknown as {
    getNumDataSegments(): number;
    getDataSegmentByIndex(i: number): number;
    getDataSegmentInfo(ref: number): { offset: number; data: ArrayBuffer; passive: boolean };
  };
  for (let i = 0; i < dm.getNumDataSegments(); i++) {
    const info = dm.getDataSegmentInfo(dm.getDataSegmentByIndex(i));
    if (info.passive) throw new CompileError('invalidModule', 'the kernel module has a passive data segment');
    segments.push({ offset: m.i32.const(info.offset), data: new Uint8Array(info.data), passive: false });
  }
  let dataEnd = align16(kernelHeapBase);
  const weightAddr = new Map<string, { addr: number; f32: boolean }>();
  let allF32 = true;
  for (const c of mod.components) {
    const coef = bundle.components.get(c.name)!;
    if (coef.kind !== 'linear') continue;
    const values = [coef.intercepts[0]!, ...coef.weights];
    if (!values.every((x) => Object.is(Math.fround(x), x) || Number.isNaN(x))) allF32 = false;
  }
  for (const c of mod.components) {
    const coef = bundle.components.get(c.name)!;
    if (coef.kind !== 'linear') continue;
    const values = [coef.intercepts[0]!, ...coef.weights];
    const data = allF32 ? new Float32Array(values) : new Float64Array(values);
    weightAddr.set(c.name, { addr: dataEnd, f32: allF32 });
    segments.push({ offset: m.i32.const(dataEnd), data: new Uint8Array(data.buffer), passive: false });
    dataEnd = align16(dataEnd + data.byteLength);
  }
  const textFn = (fn: TextFn): string => {
    const internal = kernel.get(fn);
    if (internal === undefined) throw new CompileError('invalidModule', `the kernel module has no '${fn}'`);
    return internal;
  };
  const pool: DataPool = {
    end: dataEnd,
    add(bytes: Uint8Array): number {
      const addr = this.end;
      if (bytes.length > 0) segments.push({ offset: m.i32.const(addr), data: bytes, passive: false });
      this.end = align16(addr + Math.max(bytes.length, 1));
      return addr;
    },
  };
  addScore(m, checked, mod, weightAddr, kernelFn, textFn, pool, bundle);
  const heapBase = align16(pool.end);
  const initialPages = Math.max(1, Math.ceil(heapBase / WASM_PAGE));
  m.setMemory(initialPages, -1, EXPORTS.memory, segments, false, false, '0');

  // ---- allocator
  m.addGlobal('proml$heap', binaryen.i32, true, m.i32.const(heapBase));
  const memBytes = (): Ref => m.i64.shl(m.i64.extend_u(m.memory.size()), i64c(m, 16n));
  {
    // alloc(bytes): p = heap; end = p + round16(bytes); grow when end > memory; heap = end
    const L = new Locals(1);
    const end = L.add(binaryen.i64);
    const need = L.add(binaryen.i64);
    const ret = L.add(binaryen.i32);
    m.addFunction(
      'proml$alloc',
      binaryen.createType([binaryen.i32]),
      binaryen.i32,
      L.vars,
      m.block(
        null,
        [
          m.local.set(ret, m.global.get('proml$heap', binaryen.i32)),
          m.local.set(
            end,
            m.i64.add(
              m.i64.extend_u(m.local.get(ret, binaryen.i32)),
              m.i64.and(m.i64.add(m.i64.extend_u(m.local.get(0, binaryen.i32)), i64c(m, 15n)), i64c(m, -16n)),
            ),
          ),
          // beyond 4 GiB: cannot be satisfied
          m.if(m.i64.gt_u(m.local.get(end, binaryen.i64), i64c(m, 0x1_0000_0000n)), m.return(m.i32.const(0))),
          m.if(
            m.i64.gt_u(m.local.get(end, binaryen.i64), memBytes()),
            m.block(null, [
              m.local.set(
                need,
                m.i64.shr_u(
                  m.i64.add(
                    m.i64.sub(m.local.get(end, binaryen.i64), memBytes()),
                    i64c(m, BigInt(WASM_PAGE - 1)),
                  ),
                  i64c(m, 16n),
                ),
              ),
              m.if(
                m.i32.eq(m.memory.grow(m.i32.wrap(m.local.get(need, binaryen.i64))), m.i32.const(-1)),
                m.return(m.i32.const(0)),
              ),
            ]),
          ),
          m.global.set('proml$heap', m.i32.wrap(m.local.get(end, binaryen.i64))),
          m.local.get(ret, binaryen.i32),
        ],
        binaryen.i32,
      ),
    );
  }
  m.addFunction(
    'proml$reset',
    binaryen.none,
    binaryen.none,
    [],
    m.global.set('proml$heap', m.i32.const(heapBase)),
  );
  m.addFunction('proml$abi', binaryen.none, binaryen.i32, [], m.i32.const(1));
  // inb(ptr, len): the byte range [ptr, ptr + len) lies inside memory
  m.addFunction(
    'proml$inb',
    binaryen.createType([binaryen.i32, binaryen.i32]),
    binaryen.i32,
    [],
    m.i64.le_u(
      m.i64.add(m.i64.extend_u(m.local.get(0, binaryen.i32)), m.i64.extend_u(m.local.get(1, binaryen.i32))),
      memBytes(),
    ),
  );

  m.addFunctionExport('proml$abi', EXPORTS.abiVersion);
  m.addFunctionExport('proml$alloc', EXPORTS.alloc);
  m.addFunctionExport('proml$reset', EXPORTS.reset);
  m.addFunctionExport('proml$score', EXPORTS.score);
  m.setFeatures(FEATURES);

  const strategies: Record<string, string> = {
    flavour: 'portable',
    rows: 'scalar',
    'linear.weights': allF32 ? 'f32' : 'f64',
    'linear.order': 'intercept, then columns ascending, zeros skipped; f64, rounded once to f32',
  };
  const manifest = buildManifest(checked, mod, {
    sourceText: options.sourceText,
    bundleJsonText: options.bundleJsonText ?? null,
    compilerVersion: options.compilerVersion ?? '0.1.0',
    strategies,
    initialPages,
  });
  m.addCustomSection(MANIFEST_SECTION, new TextEncoder().encode(JSON.stringify(manifest)));

  if (!m.validate())
    throw new CompileError('invalidModule', 'internal error: binaryen rejected the generated module');
  if (options.optimize ?? true) {
    binaryen.setOptimizeLevel(2);
    binaryen.setShrinkLevel(0);
    m.optimize();
  }
  const bytes = m.emitBinary();
  if (!WebAssembly.validate(bytes))
    throw new CompileError('invalidModule', 'internal error: the engine rejected the generated module');
  return { bytes, manifest };
}

/** Constant data placed after the weights (labels, default strings, hash tables, scratch). */
interface DataPool {
  end: number;
  add(bytes: Uint8Array): number;
}

/** proml_score(n, inputs, outputs, status) → rejected rows, or a negative fatal code. */
function addScore(
  m: binaryen.Module,
  checked: CheckedModel,
  mod: ir.Module,
  weightAddr: Map<string, { addr: number; f32: boolean }>,
  kernelFn: (fn: KernelFn, s: 'f32' | 'f64') => string,
  textFn: (fn: TextFn) => string,
  pool: DataPool,
  bundle: Bundle,
): void {
  const bundleOf = (c: ir.IrComponent): { blockWidth: number; intercept: boolean } => {
    const coef = bundle.components.get(c.name);
    if (coef?.kind !== 'random_effect')
      throw new CompileError('missingCoefficients', `no block layout for '${c.name}'`);
    return coef;
  };
  const i32 = binaryen.i32;
  const isStr = (i: number): boolean => mod.inputs[i]!.type.k === 'str';
  const sOf = (i: number): S => {
    const t = mod.inputs[i]!.type;
    return t.k === 'scalar' ? t.s : 'i32';
  };
  const L = new Locals(4);
  const N = 0;
  const INPUTS = 1;
  const OUTPUTS = 2;
  const STATUS = 3;
  const get = (l: number, t: binaryen.Type = i32): Ref => m.local.get(l, t);
  const inb = (ptr: Ref, len: Ref): Ref => m.call('proml$inb', [ptr, len], i32);
  const fatal = (code: number): Ref => m.return(m.i32.const(code));
  const bitmapBytes = (): Ref => m.i32.shr_u(m.i32.add(get(N), m.i32.const(7)), m.i32.const(3));
  const columnBytes = (s: S): Ref =>
    s === 'bool' ? bitmapBytes() : m.i32.shl(get(N), m.i32.const(s === 'f64' ? 3 : 2));

  const pre: Ref[] = [];
  // n
  pre.push(m.if(m.i32.gt_u(get(N), m.i32.const(MAX_ROWS)), fatal(-1)));
  pre.push(m.if(m.i32.eqz(get(STATUS)), fatal(-3)));
  pre.push(m.if(m.i32.eqz(inb(get(STATUS), m.i32.shl(get(N), m.i32.const(2)))), fatal(-3)));
  const perComponents = mod.components.filter((c) => c.per !== null);
  const nin = mod.inputs.length;
  const ndesc = nin + perComponents.length;
  const nout = mod.outputs.length;
  if (ndesc > 0) {
    pre.push(m.if(m.i32.eqz(get(INPUTS)), fatal(-3)));
    pre.push(m.if(m.i32.eqz(inb(get(INPUTS), m.i32.const(ndesc * INPUT_DESCRIPTOR.size))), fatal(-3)));
  }
  if (nout > 0) {
    pre.push(m.if(m.i32.eqz(get(OUTPUTS)), fatal(-3)));
    pre.push(m.if(m.i32.eqz(inb(get(OUTPUTS), m.i32.const(nout * OUTPUT_DESCRIPTOR.size))), fatal(-3)));
  }
  // input buffers
  const inValid: number[] = [];
  const inValues: number[] = [];
  const inOffsets: number[] = [];
  const bagCols: (BagCol | undefined)[] = [];
  for (let i = 0; i < nin; i++) {
    const s = sOf(i);
    const va = L.add(i32);
    const vv = L.add(i32);
    inValid.push(va);
    inValues.push(vv);
    const base = i * INPUT_DESCRIPTOR.size;
    pre.push(m.local.set(va, m.i32.load(base + INPUT_DESCRIPTOR.validity, 4, get(INPUTS))));
    pre.push(m.local.set(vv, m.i32.load(base + INPUT_DESCRIPTOR.values, 4, get(INPUTS))));
    pre.push(m.if(m.i32.eqz(get(vv)), fatal(-3)));
    const it = mod.inputs[i]!.type;
    if (it.k === 'entity') {
      // ids are not read: only the validity bitmap
      inOffsets.push(-1);
      pre.pop();
    } else if (it.k === 'bag') {
      // list<...>: item offsets[n + 1]; values: item byte offsets (strings) or int32 items; data: bytes
      const oa = L.add(i32);
      const da = L.add(i32);
      const cv = L.add(i32);
      const mx = L.add(i32);
      inOffsets.push(oa);
      bagCols[i] = { vv, da, cv, max: mx, elem: it.elem };
      pre.push(m.local.set(oa, m.i32.load(base + INPUT_DESCRIPTOR.offsets, 4, get(INPUTS))));
      pre.push(m.local.set(da, m.i32.load(base + INPUT_DESCRIPTOR.data, 4, get(INPUTS))));
      pre.push(m.local.set(cv, m.i32.load(base + INPUT_DESCRIPTOR.childValidity, 4, get(INPUTS))));
      pre.push(m.if(m.i32.eqz(get(oa)), fatal(-3)));
      if (it.elem === 'str') pre.push(m.if(m.i32.eqz(get(da)), fatal(-3)));
      pre.push(
        m.if(
          m.i32.eqz(inb(get(oa), m.i32.shl(m.i32.add(get(N), m.i32.const(1)), m.i32.const(2)))),
          fatal(-3),
        ),
      );
      // the most items in one row (sizes the per-call scratch of hash/cross)
      const r = L.add(i32);
      const d = L.add(i32);
      const lp = `proml$max${i}`;
      pre.push(m.local.set(mx, m.i32.const(0)));
      pre.push(m.local.set(r, m.i32.const(0)));
      pre.push(
        m.block(`${lp}$done`, [
          m.loop(
            lp,
            m.block(null, [
              m.br(`${lp}$done`, m.i32.ge_u(get(r), get(N))),
              m.local.set(
                d,
                m.i32.sub(
                  m.i32.load(4, 4, m.i32.add(get(oa), m.i32.shl(get(r), m.i32.const(2)))),
                  m.i32.load(0, 4, m.i32.add(get(oa), m.i32.shl(get(r), m.i32.const(2)))),
                ),
              ),
              m.if(m.i32.gt_s(get(d), get(mx)), m.local.set(mx, get(d))),
              m.local.set(r, m.i32.add(get(r), m.i32.const(1))),
              m.br(lp),
            ]),
          ),
        ]),
      );
    } else if (isStr(i)) {
      // utf8: int32 offsets[n + 1]; each row's bytes are checked against memory in the row loop
      const oa = L.add(i32);
      inOffsets.push(oa);
      pre.push(m.local.set(oa, m.i32.load(base + INPUT_DESCRIPTOR.offsets, 4, get(INPUTS))));
      pre.push(m.if(m.i32.eqz(get(oa)), fatal(-3)));
      pre.push(
        m.if(
          m.i32.eqz(inb(get(oa), m.i32.shl(m.i32.add(get(N), m.i32.const(1)), m.i32.const(2)))),
          fatal(-3),
        ),
      );
    } else {
      inOffsets.push(-1);
      pre.push(m.if(m.i32.eqz(inb(get(vv), columnBytes(s))), fatal(-3)));
    }
    pre.push(
      m.if(m.i32.and(m.i32.ne(get(va), m.i32.const(0)), m.i32.eqz(inb(get(va), bitmapBytes()))), fatal(-3)),
    );
  }
  // entity-block columns (docs/abi.md 3.1): f64[n · W], a null block is an unknown entity
  const blockCols = perComponents.map((c, k) => {
    const coef = bundleOf(c);
    const width = coef.blockWidth;
    const va = L.add(i32);
    const vv = L.add(i32);
    const base = (nin + k) * INPUT_DESCRIPTOR.size;
    pre.push(m.local.set(va, m.i32.load(base + INPUT_DESCRIPTOR.validity, 4, get(INPUTS))));
    pre.push(m.local.set(vv, m.i32.load(base + INPUT_DESCRIPTOR.values, 4, get(INPUTS))));
    pre.push(m.if(m.i32.eqz(get(vv)), fatal(-3)));
    pre.push(
      m.if(
        m.i64.gt_u(
          m.i64.add(m.i64.extend_u(get(vv)), m.i64.mul(m.i64.extend_u(get(N)), i64c(m, BigInt(width * 8)))),
          m.i64.shl(m.i64.extend_u(m.memory.size()), i64c(m, 16n)),
        ),
        fatal(-3),
      ),
    );
    pre.push(
      m.if(m.i32.and(m.i32.ne(get(va), m.i32.const(0)), m.i32.eqz(inb(get(va), bitmapBytes()))), fatal(-3)),
    );
    return { c, va, vv, width, intercept: coef.intercept };
  });
  const outValid: number[] = [];
  const outValues: number[] = [];
  mod.outputs.forEach((o, j) => {
    const s = (o.type as { s: S }).s;
    const va = L.add(i32);
    const vv = L.add(i32);
    outValid.push(va);
    outValues.push(vv);
    const base = j * OUTPUT_DESCRIPTOR.size;
    pre.push(m.local.set(va, m.i32.load(base + OUTPUT_DESCRIPTOR.validity, 4, get(OUTPUTS))));
    pre.push(m.local.set(vv, m.i32.load(base + OUTPUT_DESCRIPTOR.values, 4, get(OUTPUTS))));
    pre.push(m.if(m.i32.or(m.i32.eqz(get(va)), m.i32.eqz(get(vv))), fatal(-3)));
    pre.push(m.if(m.i32.eqz(inb(get(va), bitmapBytes())), fatal(-3)));
    pre.push(m.if(m.i32.eqz(inb(get(vv), columnBytes(s))), fatal(-3)));
  });
  // every bit of the output bitmaps is written: clear them first, then set the present ones
  mod.outputs.forEach((o, j) => {
    pre.push(m.memory.fill(get(outValid[j]!), m.i32.const(0), bitmapBytes()));
    if ((o.type as { s: S }).s === 'bool')
      pre.push(m.memory.fill(get(outValues[j]!), m.i32.const(0), bitmapBytes()));
  });

  // ---- the row loop
  const R = L.add(i32);
  const REJ = L.add(i32);
  const ST = L.add(i32);
  const bitOf = (bitmap: Ref): Ref =>
    m.i32.and(
      m.i32.shr_u(
        m.i32.load8_u(0, 1, m.i32.add(bitmap, m.i32.shr_u(get(R), m.i32.const(3)))),
        m.i32.and(get(R), m.i32.const(7)),
      ),
      m.i32.const(1),
    );
  const setBit = (bitmapLocal: number): Ref => {
    const addr = (): Ref => m.i32.add(get(bitmapLocal), m.i32.shr_u(get(R), m.i32.const(3)));
    return m.i32.store8(
      0,
      1,
      addr(),
      m.i32.or(m.i32.load8_u(0, 1, addr()), m.i32.shl(m.i32.const(1), m.i32.and(get(R), m.i32.const(7)))),
    );
  };
  const elemAddr = (baseLocal: number, s: S): Ref =>
    m.i32.add(get(baseLocal), m.i32.shl(get(R), m.i32.const(s === 'f64' ? 3 : 2)));

  const row: Ref[] = [];
  // read every input of the row: presence and value
  const inP: number[] = [];
  const inV: number[] = [];
  const inLen: number[] = [];
  mod.inputs.forEach((inp, i) => {
    const s = sOf(i);
    const p = L.add(i32);
    const v = L.add(wasmType(s));
    inP.push(p);
    inV.push(v);
    row.push(m.local.set(p, m.select(m.i32.eqz(get(inValid[i]!)), m.i32.const(1), bitOf(get(inValid[i]!)))));
    if (isStr(i)) {
      // v = address of the row's bytes, len = their count (0 when missing)
      const len = L.add(i32);
      const start = L.add(i32);
      inLen.push(len);
      const off = (): Ref => m.i32.add(get(inOffsets[i]!), m.i32.shl(get(R), m.i32.const(2)));
      row.push(m.local.set(v, get(inValues[i]!)));
      row.push(m.local.set(len, m.i32.const(0)));
      row.push(
        m.if(
          get(p),
          m.block(null, [
            m.local.set(start, m.i32.load(0, 4, off())),
            m.local.set(len, m.i32.load(4, 4, off())),
            m.if(
              m.i32.or(
                m.i32.or(m.i32.lt_s(get(start), m.i32.const(0)), m.i32.lt_s(get(len), get(start))),
                m.i32.eqz(inb(get(inValues[i]!), get(len))),
              ),
              fatal(-3),
            ),
            m.local.set(len, m.i32.sub(get(len), get(start))),
            m.local.set(v, m.i32.add(get(inValues[i]!), get(start))),
          ]),
        ),
      );
      return;
    }
    const bc = bagCols[i];
    if (bc !== undefined) {
      // v = first item, len = end (exclusive); a missing bag is empty
      const len = L.add(i32);
      inLen[i] = len;
      const off = (): Ref => m.i32.add(get(inOffsets[i]!), m.i32.shl(get(R), m.i32.const(2)));
      const j = L.add(i32);
      const lp = `proml$items${i}`;
      const bad = (): Ref =>
        m.i32.or(
          m.i32.or(m.i32.lt_s(get(v), m.i32.const(0)), m.i32.lt_s(get(len), get(v))),
          m.i32.or(
            m.i32.eqz(
              inb64(
                m,
                get(bc.vv),
                m.i64.shl(
                  m.i64.add(m.i64.extend_u(get(len)), i64c(m, bc.elem === 'str' ? 1n : 0n)),
                  i64c(m, 2n),
                ),
              ),
            ),
            m.i32.and(
              m.i32.ne(get(bc.cv), m.i32.const(0)),
              m.i32.eqz(inb(get(bc.cv), m.i32.shr_u(m.i32.add(get(len), m.i32.const(7)), m.i32.const(3)))),
            ),
          ),
        );
      const itemChecks: Ref[] = [];
      if (bc.elem === 'str') {
        const bs = L.add(i32);
        const be = L.add(i32);
        itemChecks.push(
          m.local.set(j, get(v)),
          m.block(`${lp}$done`, [
            m.loop(
              lp,
              m.block(null, [
                m.br(`${lp}$done`, m.i32.ge_s(get(j), get(len))),
                m.local.set(bs, m.i32.load(0, 4, m.i32.add(get(bc.vv), m.i32.shl(get(j), m.i32.const(2))))),
                m.local.set(be, m.i32.load(4, 4, m.i32.add(get(bc.vv), m.i32.shl(get(j), m.i32.const(2))))),
                m.if(
                  m.i32.or(
                    m.i32.or(m.i32.lt_s(get(bs), m.i32.const(0)), m.i32.lt_s(get(be), get(bs))),
                    m.i32.eqz(inb(get(bc.da), get(be))),
                  ),
                  fatal(-3),
                ),
                m.local.set(j, m.i32.add(get(j), m.i32.const(1))),
                m.br(lp),
              ]),
            ),
          ]),
        );
      }
      row.push(m.local.set(v, m.i32.const(0)));
      row.push(m.local.set(len, m.i32.const(0)));
      row.push(
        m.if(
          get(p),
          m.block(null, [
            m.local.set(v, m.i32.load(0, 4, off())),
            m.local.set(len, m.i32.load(4, 4, off())),
            m.if(bad(), fatal(-3)),
            ...itemChecks,
          ]),
        ),
      );
      return;
    }
    inLen.push(-1);
    if (inp.type.k === 'entity') {
      row.push(m.local.set(v, m.i32.const(0)));
      return;
    }
    let load: Ref;
    if (s === 'bool') load = bitOf(get(inValues[i]!));
    else if (s === 'f32') load = m.f32.load(0, 4, elemAddr(inValues[i]!, s));
    else if (s === 'f64') load = m.f64.load(0, 8, elemAddr(inValues[i]!, s));
    else load = m.i32.load(0, 4, elemAddr(inValues[i]!, s));
    row.push(m.local.set(v, load));
  });
  const blockRow = new Map<string, { present: number; base: number; intercept: boolean }>();
  for (const b of blockCols) {
    const present = L.add(i32);
    const base = L.add(i32);
    const entityP = inP[b.c.per!]!;
    row.push(
      m.local.set(
        present,
        m.i32.and(get(entityP), m.select(m.i32.eqz(get(b.va)), m.i32.const(1), bitOf(get(b.va)))),
      ),
    );
    row.push(m.local.set(base, m.i32.add(get(b.vv), m.i32.mul(get(R), m.i32.const(b.width * 8)))));
    blockRow.set(b.c.name, { present, base, intercept: b.intercept });
  }
  // row checks, in column order, first failure wins (docs/abi.md 3.3)
  const checks: Ref[] = [m.local.set(ST, m.i32.const(0))];
  const CHK = 'proml$checks';
  const reject = (i: number, code: number): Ref =>
    m.block(null, [m.local.set(ST, m.i32.const((i << 16) | code)), m.br(CHK)]);
  const catIdx: number[] = [];
  mod.inputs.forEach((inp, i) => {
    const ci = checkedInput(checked, mod, i);
    const s = sOf(i);
    if (ci.required) {
      checks.push(
        m.if(
          m.i32.eqz(get(inP[i]!)),
          m.block(null, [
            m.local.set(ST, m.i32.const((i << 16) | ROW_ERRORS.requiredMissing.code)),
            m.br(CHK),
          ]),
        ),
      );
    }
    catIdx.push(-1);
    if (inp.type.k === 'entity') return;
    const bc = bagCols[i];
    if (bc !== undefined) {
      if (bc.elem === 'str') {
        const j = L.add(i32);
        const lp = `proml$utf8${i}`;
        const it = itemAccess(m, bc, j);
        checks.push(
          m.local.set(j, get(inV[i]!)),
          m.block(`${lp}$done`, [
            m.loop(
              lp,
              m.block(null, [
                m.br(`${lp}$done`, m.i32.ge_s(get(j), get(inLen[i]!))),
                m.if(
                  m.i32.and(it.valid(), m.i32.eqz(m.call(textFn('utf8Valid'), [it.ptr(), it.len()], i32))),
                  reject(i, ROW_ERRORS.invalidUtf8.code),
                ),
                m.local.set(j, m.i32.add(get(j), m.i32.const(1))),
                m.br(lp),
              ]),
            ),
          ]),
        );
      }
      return;
    }
    if (isStr(i)) {
      checks.push(
        m.if(
          m.i32.and(
            get(inP[i]!),
            m.i32.eqz(m.call(textFn('utf8Valid'), [get(inV[i]!), get(inLen[i]!)], i32)),
          ),
          reject(i, ROW_ERRORS.invalidUtf8.code),
        ),
      );
      const decl = checked.inputs[i]!.declared;
      if (decl.kind === 'category') {
        const labels = decl.labels ?? [];
        const idx = L.add(i32);
        catIdx[i] = idx;
        checks.push(m.local.set(idx, m.i32.const(labels.length)));
        checks.push(
          m.if(
            get(inP[i]!),
            matchLabels(m, pool, textFn, labels, get(inV[i]!), get(inLen[i]!), idx, {
              p: L.add(i32),
              l: L.add(i32),
              label: `proml$match${i}`,
            }),
          ),
        );
        const u = checked.inputs[i]!.unknown;
        if (u !== null && u.kind === 'error')
          checks.push(
            m.if(
              m.i32.and(get(inP[i]!), m.i32.eq(get(idx), m.i32.const(labels.length))),
              reject(i, ROW_ERRORS.unknownCategory.code),
            ),
          );
      }
      return;
    }
    if (ci.range !== null && s !== 'bool') {
      const lo = s === 'f32' ? Math.fround(ci.range.lo) : ci.range.lo;
      const hi = s === 'f32' ? Math.fround(ci.range.hi) : ci.range.hi;
      const x = (): Ref =>
        s === 'f64'
          ? get(inV[i]!, binaryen.f64)
          : s === 'f32'
            ? m.f64.promote(get(inV[i]!, binaryen.f32))
            : m.f64.convert_s.i32(get(inV[i]!));
      const ok = m.i32.and(m.f64.ge(x(), m.f64.const(lo)), m.f64.le(x(), m.f64.const(hi)));
      checks.push(
        m.if(
          m.i32.and(get(inP[i]!), m.i32.eqz(ok)),
          m.block(null, [m.local.set(ST, m.i32.const((i << 16) | ROW_ERRORS.outOfRange.code)), m.br(CHK)]),
        ),
      );
    }
  });
  row.push(m.block(CHK, checks));
  row.push(m.i32.store(0, 4, m.i32.add(get(STATUS), m.i32.shl(get(R), m.i32.const(2))), get(ST)));

  // accepted row: the DAG in node order
  const vals: Val[] = [];
  const body: Ref[] = [];
  const g = new Gen(
    m,
    L,
    body,
    kernelFn,
    textFn,
    pool,
    { p: inP, v: inV, len: inLen, cat: catIdx, bag: bagCols },
    blockRow,
    pre,
  );
  for (const n of mod.nodes) vals.push(g.node(n, vals, mod, weightAddr));
  const zero = (s: S): Ref => (s === 'f32' ? m.f32.const(0) : s === 'f64' ? m.f64.const(0) : m.i32.const(0));
  const writeOut: Ref[] = [];
  const writeZero: Ref[] = [];
  mod.outputs.forEach((o, j) => {
    const val = vals[o.node]!;
    const s = val.s;
    const v = (): Ref => get(val.v, wasmType(s));
    const present = (): Ref => (val.p === null ? m.i32.const(1) : get(val.p));
    if (s === 'bool') {
      writeOut.push(m.if(m.i32.and(present(), v()), setBit(outValues[j]!)));
    } else {
      const store = (x: Ref): Ref =>
        s === 'f32'
          ? m.f32.store(0, 4, elemAddr(outValues[j]!, s), x)
          : s === 'f64'
            ? m.f64.store(0, 8, elemAddr(outValues[j]!, s), x)
            : m.i32.store(0, 4, elemAddr(outValues[j]!, s), x);
      writeOut.push(store(val.p === null ? v() : m.select(present(), v(), zero(s))));
      writeZero.push(store(zero(s)));
    }
    writeOut.push(val.p === null ? setBit(outValid[j]!) : m.if(present(), setBit(outValid[j]!)));
  });
  row.push(
    m.if(
      m.i32.eqz(get(ST)),
      m.block(null, [...body, ...writeOut]),
      m.block(null, [m.local.set(REJ, m.i32.add(get(REJ), m.i32.const(1))), ...writeZero]),
    ),
  );

  const loop = m.block('proml$done', [
    m.loop(
      'proml$row',
      m.block(null, [
        m.br('proml$done', m.i32.ge_u(get(R), get(N))),
        ...row,
        m.local.set(R, m.i32.add(get(R), m.i32.const(1))),
        m.br('proml$row'),
      ]),
    ),
  ]);
  m.addFunction(
    'proml$score',
    binaryen.createType([i32, i32, i32, i32]),
    i32,
    L.vars,
    m.block(
      null,
      [...pre, m.local.set(R, m.i32.const(0)), m.local.set(REJ, m.i32.const(0)), loop, get(REJ)],
      i32,
    ),
  );
}

/** The buffers of a bag input (locals), and the local holding its most items in one row. */
interface BagCol {
  vv: number;
  da: number;
  cv: number;
  max: number;
  elem: 'str' | 'i32';
}

/** inb with a 64-bit length. */
function inb64(m: binaryen.Module, ptr: Ref, len: Ref): Ref {
  return m.i64.le_u(
    m.i64.add(m.i64.extend_u(ptr), len),
    m.i64.shl(m.i64.extend_u(m.memory.size()), i64c(m, 16n)),
  );
}

/** Item j (a local) of a bag: whether it is non-null, its bytes (strings) or its address (ints: 4 bytes). */
function itemAccess(
  m: binaryen.Module,
  bc: BagCol,
  j: number,
): { valid: () => Ref; ptr: () => Ref; len: () => Ref } {
  const i32 = binaryen.i32;
  const J = (): Ref => m.local.get(j, i32);
  const at = (): Ref => m.i32.add(m.local.get(bc.vv, i32), m.i32.shl(J(), m.i32.const(2)));
  const cv = (): Ref => m.local.get(bc.cv, i32);
  return {
    valid: () =>
      m.select(
        m.i32.eqz(cv()),
        m.i32.const(1),
        m.i32.and(
          m.i32.shr_u(
            m.i32.load8_u(0, 1, m.i32.add(cv(), m.i32.shr_u(J(), m.i32.const(3)))),
            m.i32.and(J(), m.i32.const(7)),
          ),
          m.i32.const(1),
        ),
      ),
    ptr: () => (bc.elem === 'str' ? m.i32.add(m.local.get(bc.da, i32), m.i32.load(0, 4, at())) : at()),
    len: () =>
      bc.elem === 'str' ? m.i32.sub(m.i32.load(4, 4, at()), m.i32.load(0, 4, at())) : m.i32.const(4),
  };
}

/** Label bytes in the data pool, shared by every matcher of the same vocabulary. */
const labelAddrs = new WeakMap<DataPool, Map<string, number>>();
function labelAddr(pool: DataPool, label: string): number {
  let map = labelAddrs.get(pool);
  if (map === undefined) labelAddrs.set(pool, (map = new Map()));
  let a = map.get(label);
  if (a === undefined) map.set(label, (a = pool.add(utf8(label))));
  return a;
}

/** Sets local `idx` to the index of the first label whose UTF-8 bytes equal [ptr, ptr + len). */
function matchLabels(
  m: binaryen.Module,
  pool: DataPool,
  textFn: (fn: TextFn) => string,
  labels: readonly string[],
  ptr: Ref,
  len: Ref,
  idx: number,
  tmp: { p: number; l: number; label: string },
): Ref {
  const i32 = binaryen.i32;
  const P = (): Ref => m.local.get(tmp.p, i32);
  const N = (): Ref => m.local.get(tmp.l, i32);
  const body: Ref[] = [m.local.set(tmp.p, ptr), m.local.set(tmp.l, len)];
  const done = tmp.label;
  labels.forEach((label, k) => {
    const bytes = utf8(label);
    body.push(
      m.if(
        m.i32.and(
          m.i32.eq(N(), m.i32.const(bytes.length)),
          m.call(textFn('bytesEqual'), [P(), m.i32.const(labelAddr(pool, label)), N()], i32),
        ),
        m.block(null, [m.local.set(idx, m.i32.const(k)), m.br(done)]),
      ),
    );
  });
  return m.block(done, body);
}

/** The checked input behind IR input i (same order: lower.ts pushes inputs in declaration order). */
function checkedInput(
  checked: CheckedModel,
  mod: ir.Module,
  i: number,
): { required: boolean; range: { lo: number; hi: number } | null } {
  const c = checked.inputs[i];
  if (c === undefined || c.name !== mod.inputs[i]!.name)
    throw new CompileError('invalidModule', 'internal error: IR inputs differ from the checked model');
  return { required: c.required, range: c.range };
}

/** Code for one node at a time: each node's value (and presence) goes into fresh locals. */
class Gen {
  constructor(
    private readonly m: binaryen.Module,
    private readonly L: Locals,
    private readonly out: Ref[],
    private readonly kernelFn: (fn: KernelFn, s: 'f32' | 'f64') => string,
    private readonly textFn: (fn: TextFn) => string,
    private readonly pool: DataPool,
    private readonly inputs: {
      p: number[];
      v: number[];
      len: number[];
      cat: number[];
      bag: (BagCol | undefined)[];
    },
    private readonly blocks: Map<string, { present: number; base: number; intercept: boolean }>,
    private readonly pre: Ref[],
  ) {}

  private labelCount = 0;
  private fresh(what: string): string {
    return `proml$${what}${this.labelCount++}`;
  }

  /** for each non-null item j of bag value v: body (j is a local). */
  private forItems(v: Val, j: number, body: (it: ReturnType<typeof itemAccess>) => Ref[]): Ref {
    const m = this.m;
    const i32 = binaryen.i32;
    const bc = this.inputs.bag[v.bag!]!;
    const it = itemAccess(m, bc, j);
    const lp = this.fresh('each');
    return m.block(null, [
      m.local.set(j, m.local.get(v.v, i32)),
      m.block(`${lp}$done`, [
        m.loop(
          lp,
          m.block(null, [
            m.br(`${lp}$done`, m.i32.ge_s(m.local.get(j, i32), m.local.get(v.len!, i32))),
            m.if(it.valid(), m.block(null, body(it))),
            m.local.set(j, m.i32.add(m.local.get(j, i32), m.i32.const(1))),
            m.br(lp),
          ]),
        ),
      ]),
    ]);
  }

  /** The most hash items value v can have in one row (i32 expression), for scratch sizing. */
  private maxItems(v: Val, t: ir.IrType): Ref {
    return t.k === 'bag' ? this.m.local.get(this.inputs.bag[v.bag!]!.max, binaryen.i32) : this.m.i32.const(1);
  }

  private scratchAddr(): number {
    if (this.scratch < 0) this.scratch = this.pool.add(new Uint8Array(16));
    return this.scratch;
  }

  /** Runs body with local h = the hash of each item of v (docs/abi.md 5.1); missing/OOV: no items. */
  private eachHash(v: Val, t: ir.IrType, id: number, mod: ir.Module, h: number, body: Ref[]): Ref {
    const m = this.m;
    const i32 = binaryen.i32;
    const seed = (): Ref => m.i32.const(HASH_SEED | 0);
    const mur = (p: Ref, l: Ref): Ref => m.call(this.textFn('murmur3'), [p, l, seed()], i32);
    const g = (l: number): Ref => m.local.get(l, i32);
    const guard = (cond: Ref | null, x: Ref[]): Ref =>
      cond === null ? m.block(null, x) : m.if(cond, m.block(null, x));
    if (t.k === 'bag') {
      const j = this.L.add(i32);
      return this.forItems(v, j, (it) => [m.local.set(h, mur(it.ptr(), it.len())), ...body]);
    }
    if (t.k === 'str') return guard(this.p(v), [m.local.set(h, mur(g(v.v), g(v.len!))), ...body]);
    if (t.k === 'scalar' && t.s === 'i32') {
      const sc = this.scratchAddr();
      return guard(this.p(v), [
        m.i32.store(0, 4, m.i32.const(sc), g(v.v)),
        m.local.set(h, mur(m.i32.const(sc), m.i32.const(4))),
        ...body,
      ]);
    }
    if (t.k === 'cat') {
      const labels = this.labelsOf(id, mod);
      if (labels === null)
        throw new CompileError(
          'unsupportedOp',
          'not supported yet by this back end: hash of a category whose labels are not known',
        );
      const table = this.labelTable(labels);
      const inVocab = m.i32.lt_u(g(v.v), m.i32.const(labels.length));
      const p = this.p(v);
      return guard(p === null ? inVocab : m.i32.and(p, inVocab), [
        m.local.set(h, m.i32.load(0, 4, m.i32.add(m.i32.const(table), m.i32.shl(g(v.v), m.i32.const(2))))),
        ...body,
      ]);
    }
    throw new CompileError('unsupportedOp', `not supported yet by this back end: hash of ${t.k}`);
  }

  private labelTable(labels: readonly string[]): number {
    const key = labels.join('\0');
    let table = this.labelTables.get(key);
    if (table === undefined) {
      table = this.pool.add(new Uint8Array(new Uint32Array(labels.map(hashString)).buffer));
      this.labelTables.set(key, table);
    }
    return table;
  }

  /** A per-call scratch list of up to `items` u32 (allocated once per call; -2 when memory runs out). */
  private scratchList(items: Ref): number {
    const m = this.m;
    const i32 = binaryen.i32;
    const addr = this.L.add(i32);
    const bytes = this.L.add(binaryen.i64);
    this.pre.push(
      m.local.set(bytes, m.i64.shl(items, i64c(m, 2n))),
      m.if(m.i64.ge_u(m.local.get(bytes, binaryen.i64), i64c(m, 0xffff_fff0n)), m.return(m.i32.const(-2))),
      m.local.set(addr, m.call('proml$alloc', [m.i32.wrap(m.local.get(bytes, binaryen.i64))], i32)),
      m.if(m.i32.eqz(m.local.get(addr, i32)), m.return(m.i32.const(-2))),
    );
    return addr;
  }

  /** hash(bag, B) / cross(a, b, B): the row's buckets, one per item (pair), in a scratch list. */
  private multiSparse(n: ir.Node, vals: Val[], mod: ir.Module): Val {
    const m = this.m;
    const i32 = binaryen.i32;
    const B = n.attrs.buckets!;
    const a = vals[n.args[0]!]!;
    const ta = mod.nodes[n.args[0]!]!.type;
    const cnt = this.L.add(i32);
    const g = (l: number): Ref => m.local.get(l, i32);
    let buf: number;
    const push = (h: Ref): Ref[] => [
      m.i32.store(0, 4, m.i32.add(g(buf), m.i32.shl(g(cnt), m.i32.const(2))), m.i32.rem_u(h, m.i32.const(B))),
      m.local.set(cnt, m.i32.add(g(cnt), m.i32.const(1))),
    ];
    this.out.push(m.local.set(cnt, m.i32.const(0)));
    const ha = this.L.add(i32);
    if (n.op === 'hash') {
      buf = this.scratchList(m.i64.extend_u(this.maxItems(a, ta)));
      this.out.push(this.eachHash(a, ta, n.args[0]!, mod, ha, push(g(ha))));
    } else {
      const b = vals[n.args[1]!]!;
      const tb = mod.nodes[n.args[1]!]!.type;
      buf = this.scratchList(
        m.i64.mul(m.i64.extend_u(this.maxItems(a, ta)), m.i64.extend_u(this.maxItems(b, tb))),
      );
      const hb = this.L.add(i32);
      const sc = this.scratchAddr();
      const pair = [
        m.i32.store(0, 4, m.i32.const(sc), g(ha)),
        m.i32.store(4, 4, m.i32.const(sc), g(hb)),
        ...push(
          m.call(this.textFn('murmur3'), [m.i32.const(sc), m.i32.const(8), m.i32.const(HASH_SEED | 0)], i32),
        ),
      ];
      this.out.push(
        this.eachHash(a, ta, n.args[0]!, mod, ha, [this.eachHash(b, tb, n.args[1]!, mod, hb, pair)]),
      );
    }
    return { v: buf, len: cnt, p: null, s: 'i32', multi: true };
  }

  private labelTables = new Map<string, number>();
  private scratch = -1;
  private matchCount = 0;

  /** The label text each index of a category node hashes by (docs/abi.md 5.1), or null when unknown. */
  private labelsOf(id: number, mod: ir.Module): readonly string[] | null {
    const n = mod.nodes[id]!;
    if (n.op === 'label' || n.op === 'lookup') return n.attrs.labels ?? null;
    if (n.op === 'bucketize') return Array.from({ length: n.attrs.bounds!.length + 1 }, (_, i) => String(i));
    if (n.op === 'default' || n.op === 'require') return this.labelsOf(n.args[0]!, mod);
    return null;
  }

  /** Category/string/sparse nodes (null: the node is scalar and handled by the caller). */
  private nonScalar(n: ir.Node, vals: Val[], mod: ir.Module): Val | null {
    const m = this.m;
    const i32 = binaryen.i32;
    const unsupported = (what: string): never => {
      throw new CompileError('unsupportedOp', `not supported yet by this back end: ${what}`);
    };
    const a = (k: number): Val => vals[n.args[k]!]!;
    const g = (l: number): Ref => m.local.get(l, i32);
    const argType = (k: number): ir.IrType => mod.nodes[n.args[k]!]!.type;
    const t = n.type;
    switch (n.op) {
      case 'input': {
        const i = n.attrs.input!;
        if (t.k === 'str')
          return { v: this.inputs.v[i]!, p: this.inputs.p[i]!, s: 'i32', len: this.inputs.len[i]! };
        if (t.k === 'bag')
          return { v: this.inputs.v[i]!, len: this.inputs.len[i]!, p: null, s: 'i32', bag: i };
        // an entity id is never read (docs/abi.md 3.1): only its presence matters
        if (t.k === 'entity') return { v: this.inputs.p[i]!, p: this.inputs.p[i]!, s: 'i32' };
        if (t.k !== 'scalar') return unsupported(`input of type ${t.k}`);
        return { v: this.inputs.v[i]!, p: this.inputs.p[i]!, s: t.s };
      }
      case 'label': {
        const inNode = mod.nodes[n.args[0]!]!;
        const idx = inNode.op === 'input' ? this.inputs.cat[inNode.attrs.input!] : undefined;
        if (idx === undefined || idx < 0) return unsupported('label of a computed string');
        const size = n.attrs.labels!.length;
        const u = n.attrs.unknown;
        const value =
          typeof u === 'number'
            ? m.select(m.i32.eq(g(idx), m.i32.const(size)), m.i32.const(u), g(idx))
            : g(idx);
        return this.emit('i32', value, this.p(a(0)));
      }
      case 'const':
        if (t.k === 'cat' && typeof n.attrs.value === 'number')
          return this.emit('i32', m.i32.const(n.attrs.value), null);
        if (t.k === 'str' && typeof n.attrs.value === 'string') {
          const bytes = utf8(n.attrs.value);
          const ptr = this.emit('i32', m.i32.const(this.pool.add(bytes)), null);
          return { ...ptr, len: this.emit('i32', m.i32.const(bytes.length), null).v };
        }
        if (t.k !== 'scalar') return unsupported(`const of type ${t.k}`);
        return null;
      case 'require':
        if (t.k === 'str' || t.k === 'cat') return { ...a(0), p: null };
        return null;
      case 'default': {
        const v = a(0);
        if (t.k === 'cat') {
          if (typeof n.attrs.value !== 'number') return unsupported('default of a category');
          if (v.p === null) return v;
          return this.emit('i32', m.select(this.p(v)!, g(v.v), m.i32.const(n.attrs.value)), null);
        }
        if (t.k === 'str') {
          if (typeof n.attrs.value !== 'string') return unsupported('default of a string');
          if (v.p === null) return v;
          const bytes = utf8(n.attrs.value);
          const addr = this.pool.add(bytes);
          const ptr = this.emit('i32', m.select(this.p(v)!, g(v.v), m.i32.const(addr)), null);
          const len = this.emit('i32', m.select(this.p(v)!, g(v.len!), m.i32.const(bytes.length)), null);
          return { v: ptr.v, p: null, s: 'i32', len: len.v };
        }
        return null;
      }
      case 'lookup': {
        const v = a(0);
        if (argType(0).k !== 'str') return unsupported('lookup of a non-string');
        const labels = n.attrs.labels!;
        const idx = this.L.add(i32);
        this.out.push(m.local.set(idx, m.i32.const(labels.length)));
        const match = matchLabels(m, this.pool, this.textFn, labels, g(v.v), g(v.len!), idx, {
          p: this.L.add(i32),
          l: this.L.add(i32),
          label: `proml$lookup${this.matchCount++}`,
        });
        this.out.push(v.p === null ? match : m.if(this.p(v)!, match));
        // a missing string looks up as the OOV slot (present)
        return { v: idx, p: null, s: 'i32' };
      }
      case 'bucketize': {
        const v = a(0);
        const xt = argType(0);
        if (xt.k !== 'scalar' || xt.s === 'bool') return unsupported(`bucketize of ${xt.k}`);
        const bounds = n.attrs.bounds!;
        const oov = bounds.length + 1;
        const x = (): Ref => this.get(v.v, v.s);
        let count: Ref = m.i32.const(0);
        for (const b of bounds) {
          const le =
            v.s === 'f32'
              ? m.f32.le(m.f32.const(Math.fround(b)), x())
              : v.s === 'f64'
                ? m.f64.le(m.f64.const(b), x())
                : m.f64.le(m.f64.const(b), m.f64.convert_s.i32(x()));
          count = m.i32.add(count, le);
        }
        let r = count;
        if (v.s === 'f32') r = m.select(m.f32.eq(x(), x()), r, m.i32.const(oov));
        if (v.s === 'f64') r = m.select(m.f64.eq(x(), x()), r, m.i32.const(oov));
        if (v.p !== null) r = m.select(this.p(v)!, r, m.i32.const(oov));
        return this.emit('i32', r, null);
      }
      case 'onehot': {
        // one-item sparse: v = the active column, p = whether there is one
        const v = a(0);
        if (t.k !== 'sparse') return unsupported('onehot');
        const active = m.i32.lt_u(g(v.v), m.i32.const(t.n));
        return this.emit('i32', g(v.v), v.p === null ? active : m.i32.and(this.p(v)!, active));
      }
      case 'hash': {
        const v = a(0);
        const xt = argType(0);
        if (t.k !== 'sparse') return unsupported('hash');
        if (xt.k === 'bag') return this.multiSparse(n, vals, mod);
        const B = n.attrs.buckets!;
        let h: Ref;
        let active: Ref | null = this.p(v);
        if (xt.k === 'str')
          h = m.call(this.textFn('murmur3'), [g(v.v), g(v.len!), m.i32.const(HASH_SEED | 0)], i32);
        else if (xt.k === 'scalar' && xt.s === 'i32') {
          if (this.scratch < 0) this.scratch = this.pool.add(new Uint8Array(16));
          this.out.push(m.i32.store(0, 4, m.i32.const(this.scratch), g(v.v)));
          h = m.call(
            this.textFn('murmur3'),
            [m.i32.const(this.scratch), m.i32.const(4), m.i32.const(HASH_SEED | 0)],
            i32,
          );
        } else if (xt.k === 'cat') {
          const labels = n.attrs.labels ?? this.labelsOf(n.args[0]!, mod);
          if (labels === null) return unsupported('hash of a category whose labels are not known');
          const key = labels.join('\0');
          let table = this.labelTables.get(key);
          if (table === undefined) {
            table = this.pool.add(new Uint8Array(new Uint32Array(labels.map(hashString)).buffer));
            this.labelTables.set(key, table);
          }
          const inVocab = m.i32.lt_u(g(v.v), m.i32.const(labels.length));
          active = active === null ? inVocab : m.i32.and(active, inVocab);
          const safe = m.select(m.i32.lt_u(g(v.v), m.i32.const(labels.length)), g(v.v), m.i32.const(0));
          h = m.i32.load(0, 4, m.i32.add(m.i32.const(table), m.i32.shl(safe, m.i32.const(2))));
        } else return unsupported(`hash of ${xt.k}`);
        return this.emit('i32', m.i32.rem_u(h, m.i32.const(B)), active);
      }
      case 'is_missing':
        return null;
      case 'cross':
        if (t.k !== 'sparse') return unsupported('cross');
        return this.multiSparse(n, vals, mod);
      case 'count': {
        const v = a(0);
        if (argType(0).k !== 'bag') return unsupported(`count of ${argType(0).k}`);
        const c = this.L.add(i32);
        this.out.push(m.local.set(c, m.i32.const(0)));
        this.out.push(
          this.forItems(v, this.L.add(i32), () => [m.local.set(c, m.i32.add(g(c), m.i32.const(1)))]),
        );
        return { v: c, p: null, s: 'i32' };
      }
      case 'overlap': {
        // distinct items of a that occur in b
        const [va, vb] = [a(0), a(1)];
        if (argType(0).k !== 'bag' || argType(1).k !== 'bag') return unsupported('overlap of non-bags');
        const str = this.inputs.bag[va.bag!]!.elem === 'str';
        const c = this.L.add(i32);
        const found = this.L.add(i32);
        const [j, k] = [this.L.add(i32), this.L.add(i32)];
        const same = (x: ReturnType<typeof itemAccess>, y: ReturnType<typeof itemAccess>): Ref =>
          str
            ? m.i32.and(
                m.i32.eq(x.len(), y.len()),
                m.call(this.textFn('bytesEqual'), [x.ptr(), y.ptr(), x.len()], i32),
              )
            : m.i32.eq(m.i32.load(0, 4, x.ptr()), m.i32.load(0, 4, y.ptr()));
        const earlier = { ...va, len: j };
        this.out.push(m.local.set(c, m.i32.const(0)));
        this.out.push(
          this.forItems(va, j, (x) => [
            m.local.set(found, m.i32.const(0)),
            // an equal earlier item of a: already counted
            this.forItems(earlier, k, (y) => [m.if(same(x, y), m.local.set(found, m.i32.const(2)))]),
            m.if(
              m.i32.eqz(g(found)),
              this.forItems(vb, k, (y) => [m.if(same(x, y), m.local.set(found, m.i32.const(1)))]),
            ),
            m.if(m.i32.eq(g(found), m.i32.const(1)), m.local.set(c, m.i32.add(g(c), m.i32.const(1)))),
          ]),
        );
        return { v: c, p: null, s: 'i32' };
      }
      case 'coalesce': {
        if (t.k !== 'str' && t.k !== 'cat') return null;
        const [v, w] = [a(0), a(1)];
        if (v.p === null) return v;
        const pw = this.p(w);
        const pres = pw === null ? null : m.i32.or(this.p(v)!, pw);
        const r = this.emit('i32', m.select(this.p(v)!, g(v.v), g(w.v)), pres);
        if (t.k === 'str') r.len = this.emit('i32', m.select(this.p(v)!, g(v.len!), g(w.len!)), null).v;
        return r;
      }
      case 'length': {
        const v = a(0);
        if (argType(0).k !== 'str') return unsupported('length of a bag');
        return this.emit('i32', m.call(this.textFn('codePointCount'), [g(v.v), g(v.len!)], i32), this.p(v));
      }
      case 'eq':
      case 'ne': {
        const ka = argType(0).k;
        const kb = argType(1).k;
        if (ka === 'scalar' && kb === 'scalar') return null;
        if (ka !== 'cat' || kb !== 'cat') return unsupported(`comparison of ${ka} with ${kb}`);
        // only a category against one of its labels (a constant index) has the reference's meaning
        if (mod.nodes[n.args[0]!]!.op !== 'const' && mod.nodes[n.args[1]!]!.op !== 'const')
          return unsupported('comparison of two categories');
        // lower.ts turns a label it cannot resolve (e.g. "1" against a bucketize) into the OOV index
        for (const k of [0, 1]) {
          const c = mod.nodes[n.args[k]!]!;
          const other = mod.nodes[n.args[1 - k]!]!.type;
          if (c.op === 'const' && other.k === 'cat' && (c.attrs.value as number) >= other.n)
            return unsupported('comparison of a category with a label outside its declared labels');
        }
        const r = m.i32[n.op](g(a(0).v), g(a(1).v));
        return this.emit('bool', r, this.both(this.p(a(0)), this.p(a(1))));
      }
      default:
        for (const k of n.args.keys()) {
          const at = argType(k);
          if (at.k !== 'scalar') return unsupported(`${n.op} of ${at.k}`);
        }
        return null;
    }
  }

  private get(l: number, s: S): Ref {
    return this.m.local.get(l, wasmType(s));
  }

  private p(v: Val): Ref | null {
    return v.p === null ? null : this.m.local.get(v.p, binaryen.i32);
  }

  /** AND of presence bits (null: always present). */
  private both(...ps: (Ref | null)[]): Ref | null {
    let acc: Ref | null = null;
    for (const p of ps) if (p !== null) acc = acc === null ? p : this.m.i32.and(acc, p);
    return acc;
  }

  private emit(s: S, value: Ref, presence: Ref | null): Val {
    const v = this.L.add(wasmType(s));
    this.out.push(this.m.local.set(v, value));
    let p: number | null = null;
    if (presence !== null) {
      p = this.L.add(binaryen.i32);
      this.out.push(this.m.local.set(p, presence));
    }
    return { v, p, s };
  }

  private constant(s: S, x: number): Ref {
    const m = this.m;
    return s === 'f32' ? m.f32.const(x) : s === 'f64' ? m.f64.const(x) : m.i32.const(x | 0);
  }

  node(
    n: ir.Node,
    vals: Val[],
    mod: ir.Module,
    weightAddr: Map<string, { addr: number; f32: boolean }>,
  ): Val {
    const m = this.m;
    if (n.op !== 'component') {
      const special = this.nonScalar(n, vals, mod);
      if (special !== null) return special;
    }
    const unsupported = (what: string): never => {
      throw new CompileError('unsupportedOp', `not supported yet by this back end: ${what}`);
    };
    const a = (k: number): Val => vals[n.args[k]!]!;
    const x = (k: number): Ref => {
      const v = a(k);
      return this.get(v.v, v.s);
    };
    const s = n.op === 'component' ? 'f32' : scalarOf(n, n.op).s;
    const float = s === 'f32' || s === 'f64';
    const F = s === 'f32' ? m.f32 : m.f64;
    const allP = (): Ref | null => this.both(...n.args.map((_, k) => this.p(a(k))));
    switch (n.op) {
      case 'const': {
        if (typeof n.attrs.value !== 'number') return unsupported(`const of type ${typeof n.attrs.value}`);
        return this.emit(s, this.constant(s, n.attrs.value), null);
      }
      case 'require':
      case 'inrange':
        // checked in the row prologue: a rejected row never reaches the DAG
        return n.op === 'require' ? { ...a(0), p: null } : a(0);
      case 'default': {
        const v = a(0);
        if (typeof n.attrs.value !== 'number') return unsupported(`default of type ${typeof n.attrs.value}`);
        if (v.p === null) return v;
        return this.emit(s, m.select(this.p(v)!, x(0), this.constant(s, n.attrs.value)), null);
      }
      case 'is_missing': {
        const v = a(0);
        return this.emit('bool', v.p === null ? m.i32.const(0) : m.i32.eqz(this.p(v)!), null);
      }
      case 'coalesce': {
        const v = a(0);
        const w = a(1);
        if (v.p === null) return v;
        const pw = this.p(w);
        return this.emit(s, m.select(this.p(v)!, x(0), x(1)), pw === null ? null : m.i32.or(this.p(v)!, pw));
      }
      case 'cast': {
        const from = a(0).s;
        let r: Ref;
        if (from === s || (from === 'bool' && s === 'i32')) r = x(0);
        else if (s === 'f32' && (from === 'i32' || from === 'bool'))
          r = from === 'i32' ? m.f32.convert_s.i32(x(0)) : m.f32.convert_u.i32(x(0));
        else if (s === 'f64' && (from === 'i32' || from === 'bool'))
          r = from === 'i32' ? m.f64.convert_s.i32(x(0)) : m.f64.convert_u.i32(x(0));
        else if (s === 'f64' && from === 'f32') r = m.f64.promote(x(0));
        else if (s === 'f32' && from === 'f64') r = m.f32.demote(x(0));
        else return unsupported(`cast ${from} → ${s}`);
        return this.emit(s, r, allP());
      }
      case 'add':
      case 'sub':
      case 'mul': {
        if (s === 'bool') return unsupported(`${n.op} on bool`);
        const I = m.i32;
        const r =
          n.op === 'add'
            ? float
              ? F.add(x(0), x(1))
              : I.add(x(0), x(1))
            : n.op === 'sub'
              ? float
                ? F.sub(x(0), x(1))
                : I.sub(x(0), x(1))
              : float
                ? F.mul(x(0), x(1))
                : I.mul(x(0), x(1));
        return this.emit(s, r, allP());
      }
      case 'div':
        if (!float) return unsupported(`div on ${s}`);
        return this.emit(s, F.div(x(0), x(1)), allP());
      case 'neg':
        if (s === 'bool') return unsupported('neg on bool');
        return this.emit(s, float ? F.neg(x(0)) : m.i32.sub(m.i32.const(0), x(0)), allP());
      case 'lt':
      case 'le':
      case 'gt':
      case 'ge':
      case 'eq':
      case 'ne': {
        const k = a(0).s;
        if (a(1).s !== k) return unsupported(`comparison of ${k} with ${a(1).s}`);
        const G = k === 'f32' ? m.f32 : k === 'f64' ? m.f64 : null;
        const op = n.op;
        let r: Ref;
        if (G !== null) r = G[op](x(0), x(1));
        else if (op === 'eq' || op === 'ne') r = m.i32[op](x(0), x(1));
        else if (k === 'bool') return unsupported(`${op} on bool`);
        else r = m.i32[`${op}_s`](x(0), x(1));
        return this.emit('bool', r, allP());
      }
      case 'and':
        return this.emit('bool', m.i32.and(x(0), x(1)), allP());
      case 'or':
        return this.emit('bool', m.i32.or(x(0), x(1)), allP());
      case 'not':
        return this.emit('bool', m.i32.eqz(x(0)), allP());
      case 'select': {
        // missing when the condition is, or when the branch taken is (docs/abi.md 5.3)
        const [c, t, e] = [a(0), a(1), a(2)];
        const taken =
          t.p === null && e.p === null
            ? null
            : m.select(x(0), this.p(t) ?? m.i32.const(1), this.p(e) ?? m.i32.const(1));
        return this.emit(s, m.select(x(0), x(1), x(2)), this.both(this.p(c), taken));
      }
      case 'min':
      case 'max': {
        if (float) return this.emit(s, n.op === 'min' ? F.min(x(0), x(1)) : F.max(x(0), x(1)), allP());
        if (s === 'bool') return unsupported(`${n.op} on bool`);
        const lt = m.i32.lt_s(x(0), x(1));
        return this.emit(s, n.op === 'min' ? m.select(lt, x(0), x(1)) : m.select(lt, x(1), x(0)), allP());
      }
      case 'abs':
        if (float) return this.emit(s, F.abs(x(0)), allP());
        if (s === 'bool') return unsupported('abs on bool');
        return this.emit(
          s,
          m.select(m.i32.lt_s(x(0), m.i32.const(0)), m.i32.sub(m.i32.const(0), x(0)), x(0)),
          allP(),
        );
      case 'floor':
        if (float) return this.emit(s, F.floor(x(0)), allP());
        if (s === 'bool') return unsupported('floor on bool');
        return { ...a(0) };
      case 'sqrt':
        if (!float) return unsupported(`sqrt on ${s}`);
        return this.emit(s, F.sqrt(x(0)), allP());
      case 'clip': {
        const lo = n.attrs.lo!;
        const hi = n.attrs.hi!;
        if (float) {
          const c = (v: number): Ref => F.const(s === 'f32' ? Math.fround(v) : v);
          return this.emit(s, F.min(F.max(x(0), c(lo)), c(hi)), allP());
        }
        if (s === 'bool') return unsupported('clip on bool');
        const l = m.i32.const(lo | 0);
        const h = m.i32.const(hi | 0);
        const t = this.emit(s, m.select(m.i32.lt_s(x(0), l), m.i32.const(lo | 0), x(0)), null);
        const tv = (): Ref => m.local.get(t.v, binaryen.i32);
        return this.emit(s, m.select(m.i32.gt_s(tv(), h), m.i32.const(hi | 0), tv()), allP());
      }
      case 'exp':
      case 'log':
      case 'log1p':
      case 'sigmoid':
      case 'tanh':
      case 'sin':
      case 'cos':
        if (!float) return unsupported(`${n.op} on ${s}`);
        return this.emit(s, m.call(this.kernelFn(n.op, s), [x(0)], wasmType(s)), allP());
      case 'pow':
        if (!float || a(1).s !== s) return unsupported(`pow on ${s}`);
        return this.emit(s, m.call(this.kernelFn('pow', s), [x(0), x(1)], wasmType(s)), allP());
      case 'component':
        return this.linear(n, vals, mod, weightAddr);
      default:
        return unsupported(n.op);
    }
  }

  /**
   * A global linear margin: s = intercept, then for each column j ascending with x_j ≠ 0,
   * s += w_j · x_j, in f64 (x_j widened exactly); rounded once to f32. Same order as the reference.
   */
  /**
   * Sorts a bucket list ascending (insertion sort, in place) and calls body once per distinct bucket
   * with its count (f64): the reference's column order (docs/abi.md 5.3).
   */
  private sortedRuns(v: Val, body: (bucket: Ref, count: Ref) => Ref[]): Ref {
    const m = this.m;
    const i32 = binaryen.i32;
    const g = (l: number): Ref => m.local.get(l, i32);
    const [i, j, key, b, c] = [0, 0, 0, 0, 0].map(() => this.L.add(i32)) as [
      number,
      number,
      number,
      number,
      number,
    ];
    const at = (x: Ref): Ref => m.i32.add(g(v.v), m.i32.shl(x, m.i32.const(2)));
    const sortL = this.fresh('sort');
    const shiftL = this.fresh('shift');
    const runL = this.fresh('run');
    const cntL = this.fresh('count');
    return m.block(null, [
      m.local.set(i, m.i32.const(1)),
      m.block(`${sortL}$done`, [
        m.loop(
          sortL,
          m.block(null, [
            m.br(`${sortL}$done`, m.i32.ge_s(g(i), g(v.len!))),
            m.local.set(key, m.i32.load(0, 4, at(g(i)))),
            m.local.set(j, m.i32.sub(g(i), m.i32.const(1))),
            m.block(`${shiftL}$done`, [
              m.loop(
                shiftL,
                m.block(null, [
                  m.br(`${shiftL}$done`, m.i32.lt_s(g(j), m.i32.const(0))),
                  m.br(`${shiftL}$done`, m.i32.le_u(m.i32.load(0, 4, at(g(j))), g(key))),
                  m.i32.store(4, 4, at(g(j)), m.i32.load(0, 4, at(g(j)))),
                  m.local.set(j, m.i32.sub(g(j), m.i32.const(1))),
                  m.br(shiftL),
                ]),
              ),
            ]),
            m.i32.store(4, 4, at(g(j)), g(key)),
            m.local.set(i, m.i32.add(g(i), m.i32.const(1))),
            m.br(sortL),
          ]),
        ),
      ]),
      m.local.set(i, m.i32.const(0)),
      m.block(`${runL}$done`, [
        m.loop(
          runL,
          m.block(null, [
            m.br(`${runL}$done`, m.i32.ge_s(g(i), g(v.len!))),
            m.local.set(b, m.i32.load(0, 4, at(g(i)))),
            m.local.set(c, m.i32.const(0)),
            m.block(`${cntL}$done`, [
              m.loop(
                cntL,
                m.block(null, [
                  m.br(`${cntL}$done`, m.i32.ge_s(g(i), g(v.len!))),
                  m.br(`${cntL}$done`, m.i32.ne(m.i32.load(0, 4, at(g(i))), g(b))),
                  m.local.set(c, m.i32.add(g(c), m.i32.const(1))),
                  m.local.set(i, m.i32.add(g(i), m.i32.const(1))),
                  m.br(cntL),
                ]),
              ),
            ]),
            ...body(g(b), m.f64.convert_u.i32(g(c))),
            m.br(runL),
          ]),
        ),
      ]),
    ]);
  }

  private linear(
    n: ir.Node,
    vals: Val[],
    mod: ir.Module,
    weightAddr: Map<string, { addr: number; f32: boolean }>,
  ): Val {
    const m = this.m;
    const f64 = binaryen.f64;
    const c = mod.components[n.attrs.component!]!;
    const block = this.blocks.get(c.name);
    // wAt(k, dyn): weight k of [intercept, w_0, ...] (+ dyn columns), widened to f64
    let wAt: (k: number, dyn: Ref | null) => Ref;
    let first: number;
    const body: Ref[] = [];
    if (block === undefined) {
      const w = weightAddr.get(c.name)!;
      const size = w.f32 ? 4 : 8;
      wAt = (k, dyn) => {
        const addr = dyn === null ? m.i32.const(0) : m.i32.shl(dyn, m.i32.const(w.f32 ? 2 : 3));
        return w.f32
          ? m.f64.promote(m.f32.load(w.addr + k * size, 4, addr))
          : m.f64.load(w.addr + k * size, 8, addr);
      };
      // the bundle's intercept (0 without one) is stored first
      first = 1;
    } else {
      // per ENTITY: the row's block [intercept?, w_0, ...] in the entity-block column (f64)
      const base = (): Ref => m.local.get(block.base, binaryen.i32);
      wAt = (k, dyn) =>
        m.f64.load(k * 8, 8, dyn === null ? base() : m.i32.add(base(), m.i32.shl(dyn, m.i32.const(3))));
      first = block.intercept ? 1 : 0;
    }
    const acc = this.L.add(f64);
    const xv = this.L.add(f64);
    const A = (): Ref => m.local.get(acc, f64);
    this.out.push(m.local.set(acc, m.f64.const(0)));
    if (first === 1) body.push(m.local.set(acc, wAt(0, null)));
    const sorted = [...c.features].sort((p, q) => p.offset - q.offset);
    for (const f of sorted) {
      const v = vals[f.node]!;
      if (v.multi === true) {
        body.push(
          this.sortedRuns(v, (bucket, count) => [
            m.local.set(acc, m.f64.add(A(), m.f64.mul(wAt(first + f.offset, bucket), count))),
          ]),
        );
        continue;
      }
      if (mod.nodes[f.node]!.type.k === 'sparse') {
        // one active column (or none): s += w_j · 1
        const add = m.local.set(acc, m.f64.add(A(), wAt(first + f.offset, m.local.get(v.v, binaryen.i32))));
        body.push(v.p === null ? add : m.if(m.local.get(v.p, binaryen.i32), add));
        continue;
      }
      const widened =
        v.s === 'f64'
          ? this.get(v.v, 'f64')
          : v.s === 'f32'
            ? m.f64.promote(this.get(v.v, 'f32'))
            : m.f64.convert_s.i32(this.get(v.v, v.s));
      body.push(m.local.set(xv, widened));
      const X = (): Ref => m.local.get(xv, f64);
      body.push(
        m.if(
          m.f64.ne(X(), m.f64.const(0)),
          m.local.set(acc, m.f64.add(A(), m.f64.mul(wAt(first + f.offset, null), X()))),
        ),
      );
    }
    // an unknown entity (null block) or a missing id contributes exactly 0
    if (block === undefined) this.out.push(...body);
    else this.out.push(m.if(m.local.get(block.present, binaryen.i32), m.block(null, body)));
    return this.emit('f32', m.f32.demote(A()), null);
  }
}
