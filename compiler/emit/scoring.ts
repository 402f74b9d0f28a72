// The scoring module, first slice: scalar code (one row per loop iteration) for scalar numeric
// inputs, the missing-value, arithmetic, logic and math ops, and global `linear` components.
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
type KernelFn = (typeof KERNEL_FUNCTIONS)[number];

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
  ...KERNEL_FUNCTIONS,
]);

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
    if (inp.type.k !== 'scalar')
      throw new CompileError(
        'unsupportedInput',
        `not supported yet by this back end: input '${inp.name}' of type ${checked.inputs[i]?.declared.kind ?? inp.type.k}`,
      );
  });
  for (const n of mod.nodes) {
    if (!SUPPORTED_OPS.has(n.op))
      throw new CompileError('unsupportedOp', `not supported yet by this back end: ${n.op}`);
    if (n.op !== 'component') scalarOf(n, n.op);
  }
  for (const c of mod.components) {
    const what = `component '${c.name}'`;
    if (c.kind !== 'linear')
      throw new CompileError('unsupportedComponent', `not supported yet by this back end: ${c.kind} ${what}`);
    if (c.per !== null)
      throw new CompileError(
        'unsupportedComponent',
        `not supported yet by this back end: ${what} with 'per'`,
      );
    if (c.outputWidth !== 1)
      throw new CompileError(
        'unsupportedComponent',
        `not supported yet by this back end: ${what} with classes`,
      );
    for (const f of c.features) {
      const t = mod.nodes[f.node]!.type;
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
  const heapBase = align16(dataEnd);
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

  addScore(m, checked, mod, weightAddr, kernelFn);

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

/** proml_score(n, inputs, outputs, status) → rejected rows, or a negative fatal code. */
function addScore(
  m: binaryen.Module,
  checked: CheckedModel,
  mod: ir.Module,
  weightAddr: Map<string, { addr: number; f32: boolean }>,
  kernelFn: (fn: KernelFn, s: 'f32' | 'f64') => string,
): void {
  const i32 = binaryen.i32;
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
  const nin = mod.inputs.length;
  const nout = mod.outputs.length;
  if (nin > 0) {
    pre.push(m.if(m.i32.eqz(get(INPUTS)), fatal(-3)));
    pre.push(m.if(m.i32.eqz(inb(get(INPUTS), m.i32.const(nin * INPUT_DESCRIPTOR.size))), fatal(-3)));
  }
  if (nout > 0) {
    pre.push(m.if(m.i32.eqz(get(OUTPUTS)), fatal(-3)));
    pre.push(m.if(m.i32.eqz(inb(get(OUTPUTS), m.i32.const(nout * OUTPUT_DESCRIPTOR.size))), fatal(-3)));
  }
  // input buffers
  const inValid: number[] = [];
  const inValues: number[] = [];
  mod.inputs.forEach((inp, i) => {
    const s = (inp.type as { s: S }).s;
    const va = L.add(i32);
    const vv = L.add(i32);
    inValid.push(va);
    inValues.push(vv);
    const base = i * INPUT_DESCRIPTOR.size;
    pre.push(m.local.set(va, m.i32.load(base + INPUT_DESCRIPTOR.validity, 4, get(INPUTS))));
    pre.push(m.local.set(vv, m.i32.load(base + INPUT_DESCRIPTOR.values, 4, get(INPUTS))));
    pre.push(m.if(m.i32.eqz(get(vv)), fatal(-3)));
    pre.push(m.if(m.i32.eqz(inb(get(vv), columnBytes(s))), fatal(-3)));
    pre.push(
      m.if(m.i32.and(m.i32.ne(get(va), m.i32.const(0)), m.i32.eqz(inb(get(va), bitmapBytes()))), fatal(-3)),
    );
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
  mod.inputs.forEach((inp, i) => {
    const s = (inp.type as { s: S }).s;
    const p = L.add(i32);
    const v = L.add(wasmType(s));
    inP.push(p);
    inV.push(v);
    row.push(m.local.set(p, m.select(m.i32.eqz(get(inValid[i]!)), m.i32.const(1), bitOf(get(inValid[i]!)))));
    let load: Ref;
    if (s === 'bool') load = bitOf(get(inValues[i]!));
    else if (s === 'f32') load = m.f32.load(0, 4, elemAddr(inValues[i]!, s));
    else if (s === 'f64') load = m.f64.load(0, 8, elemAddr(inValues[i]!, s));
    else load = m.i32.load(0, 4, elemAddr(inValues[i]!, s));
    row.push(m.local.set(v, load));
  });
  // row checks, in column order, first failure wins (docs/abi.md 3.3)
  const checks: Ref[] = [m.local.set(ST, m.i32.const(0))];
  const CHK = 'proml$checks';
  mod.inputs.forEach((inp, i) => {
    const ci = checkedInput(checked, mod, i);
    const s = (inp.type as { s: S }).s;
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
  const g = new Gen(m, L, body, kernelFn);
  for (const n of mod.nodes) vals.push(g.node(n, vals, mod, weightAddr, inP, inV));
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
  ) {}

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
    inP: number[],
    inV: number[],
  ): Val {
    const m = this.m;
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
      case 'input':
        return { v: inV[n.attrs.input!]!, p: inP[n.attrs.input!]!, s };
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
  private linear(
    n: ir.Node,
    vals: Val[],
    mod: ir.Module,
    weightAddr: Map<string, { addr: number; f32: boolean }>,
  ): Val {
    const m = this.m;
    const c = mod.components[n.attrs.component!]!;
    const w = weightAddr.get(c.name)!;
    const size = w.f32 ? 4 : 8;
    const load = (k: number): Ref =>
      w.f32
        ? m.f64.promote(m.f32.load(w.addr + k * size, 4, m.i32.const(0)))
        : m.f64.load(w.addr + k * size, 8, m.i32.const(0));
    const acc = this.L.add(binaryen.f64);
    const xv = this.L.add(binaryen.f64);
    // the bundle's intercept (0 without one) is stored first
    this.out.push(m.local.set(acc, load(0)));
    const sorted = [...c.features].sort((p, q) => p.offset - q.offset);
    for (const f of sorted) {
      const v = vals[f.node]!;
      const widened =
        v.s === 'f64'
          ? this.get(v.v, 'f64')
          : v.s === 'f32'
            ? m.f64.promote(this.get(v.v, 'f32'))
            : m.f64.convert_s.i32(this.get(v.v, v.s));
      this.out.push(m.local.set(xv, widened));
      const X = (): Ref => m.local.get(xv, binaryen.f64);
      const A = (): Ref => m.local.get(acc, binaryen.f64);
      this.out.push(
        m.if(
          m.f64.ne(X(), m.f64.const(0)),
          m.local.set(acc, m.f64.add(A(), m.f64.mul(load(1 + f.offset), X()))),
        ),
      );
    }
    return this.emit('f32', m.f32.demote(m.local.get(acc, binaryen.f64)), null);
  }
}
