// Checks a decoded coefficient bundle against a checked model before lowering: every component,
// fitted transform and calibration present with the model's shapes, nothing extra, every number
// usable. Input: CheckedModel + Bundle (+ the .pml source hash). Output: BundleIssue list (PML30xx;
// errors stop compilation, PML3011 is a warning). Reading errors (PML3001–3006) come from abi/node.ts.

import {
  BUNDLE_CODES,
  type BundleCodeName,
  type Bundle,
  type ComponentCoefficients,
  type GbdtTree,
} from '../abi/index.js';
import { fittedPlan } from './fitted.js';
import type { CheckedComponent, CheckedModel } from './typed.js';

export interface BundleIssue {
  code: string;
  severity: 'error' | 'warning';
  message: string;
  hint?: string;
}

const HINT = 'retrain the model (or regenerate the fixture bundle) after changing its components';

export function checkBundle(model: CheckedModel, bundle: Bundle, sourceSha256?: string): BundleIssue[] {
  const issues: BundleIssue[] = [];
  const report = (name: BundleCodeName, message: string, hint?: string): void => {
    const c = BUNDLE_CODES[name];
    issues.push({ code: c.code, severity: c.severity, message, ...(hint === undefined ? {} : { hint }) });
  };

  if (bundle.model.name !== model.name)
    report('modelName', `the bundle was trained for model '${bundle.model.name}', not '${model.name}'`);
  if (sourceSha256 !== undefined && bundle.sourceSha256 !== sourceSha256)
    report(
      'sourceChanged',
      'the model source changed since the bundle was trained (source hash differs)',
      'harmless for comments and formatting; retrain if the model changed',
    );

  for (const c of model.components) {
    const got = bundle.components.get(c.name);
    if (got === undefined) {
      report('componentMissing', `component '${c.name}' has no coefficients in the bundle`, HINT);
      continue;
    }
    checkComponent(c, got, report);
  }
  for (const name of bundle.components.keys())
    if (!model.components.some((c) => c.name === name))
      report(
        'componentUnknown',
        `the bundle has coefficients for '${name}', which is not a component of the model`,
      );

  const plan = fittedPlan(model);
  for (const site of plan.transforms) {
    const got = bundle.transforms.get(site.key);
    const where = `${site.fn}(...) at '${site.key}'`;
    if (got === undefined) {
      report('transformMissing', `${where} has no fitted statistics in the bundle`, HINT);
      continue;
    }
    if (got.kind !== site.fn) {
      report('shape', `${where} is fitted as ${got.kind} in the bundle`);
      continue;
    }
    if (got.kind === 'standardize' && site.fn === 'standardize') {
      if (got.mean.length !== site.width || got.std.length !== site.width)
        report(
          'shape',
          `${where} has ${site.width} element(s); the bundle has ${got.mean.length} mean(s), ${got.std.length} std(s)`,
        );
      else if (![...got.mean, ...got.std].every(Number.isFinite) || got.std.some((s) => s < 0))
        report('invalid', `${where}: means and stds must be finite, stds ≥ 0`);
    } else if (got.kind === 'quantiles' && site.fn === 'quantiles') {
      if (got.n !== site.n || got.boundaries.length !== site.n - 1)
        report(
          'shape',
          `${where} has ${site.n} buckets (${site.n - 1} boundaries); the bundle has ${got.boundaries.length} boundaries`,
        );
      else if (!nonDecreasingFinite(got.boundaries))
        report('invalid', `${where}: boundaries must be finite and non-decreasing`);
    } else if (got.kind === 'vocab' && site.fn === 'vocab') {
      if (got.max !== site.max || got.labels.length > site.max)
        report(
          'shape',
          `${where} keeps at most ${site.max} values; the bundle has max ${got.max} with ${got.labels.length} labels`,
        );
      else if (new Set(got.labels).size !== got.labels.length)
        report('invalid', `${where}: vocabulary labels repeat`);
      else if (got.counts.length !== got.labels.length) report('invalid', `${where}: one count per label`);
    }
  }
  for (const key of bundle.transforms.keys())
    if (!plan.keys.size || ![...plan.keys.values()].includes(key))
      report('transformUnknown', `the bundle has a fitted transform '${key}' that the model does not use`);

  for (const site of plan.calibrations) {
    const got = bundle.calibrations.get(site.key);
    if (got === undefined) {
      report(
        'calibrationMissing',
        `${site.method}(${site.of}) has no fitted map in the bundle ('${site.key}')`,
        HINT,
      );
      continue;
    }
    if (got.kind !== site.method || got.of !== site.of) {
      report('shape', `calibration '${site.key}' is ${got.kind} of '${got.of}' in the bundle`);
      continue;
    }
    if (got.kind === 'platt' && !(Number.isFinite(got.a) && Number.isFinite(got.b)))
      report('invalid', `platt(${site.of}): a and b must be finite`);
    if (got.kind === 'isotonic') {
      const inc = got.x.every((v, i) => Number.isFinite(v) && (i === 0 || v > got.x[i - 1]!));
      if (got.x.length === 0 || got.x.length !== got.y.length || !inc || !got.y.every(Number.isFinite))
        report('invalid', `isotonic(${site.of}): needs ≥ 1 point, x strictly increasing, x and y finite`);
    }
  }
  for (const key of bundle.calibrations.keys())
    if (!plan.calibrations.some((c) => c.key === key))
      report('calibrationUnknown', `the bundle has a calibration '${key}' that the model does not use`);
  return issues;
}

type Report = (name: BundleCodeName, message: string, hint?: string) => void;

function checkComponent(c: CheckedComponent, got: ComponentCoefficients, report: Report): void {
  const expectKind = c.kind === 'linear' ? (c.per === null ? 'linear' : 'random_effect') : c.kind;
  if (got.kind !== expectKind) {
    report(
      'componentKind',
      `component '${c.name}' is ${describeKind(expectKind)} in the model but ${describeKind(got.kind)} in the bundle`,
      HINT,
    );
    return;
  }
  const shape = (what: string, model: unknown, bundle: unknown): boolean => {
    if (JSON.stringify(model) === JSON.stringify(bundle)) return true;
    report(
      'shape',
      `component '${c.name}': ${what} is ${JSON.stringify(model)} in the model, ${JSON.stringify(bundle)} in the bundle`,
      HINT,
    );
    return false;
  };
  if (!shape('the number of classes', c.outputWidth, got.classes)) return;
  if (!shape('the input width', c.inputWidth, got.inputWidth)) return;
  const invalid = (what: string): void => report('invalid', `component '${c.name}': ${what}`);
  switch (got.kind) {
    case 'linear':
      if (!shape('intercept', c.options.intercept, got.intercept)) return;
      if (got.weights.length !== c.outputWidth * c.inputWidth) return invalid('weight count');
      if (!got.weights.every(Number.isFinite) || !got.intercepts.every(Number.isFinite))
        invalid('non-finite weight');
      return;
    case 'random_effect': {
      if (!shape('intercept', c.options.intercept, got.intercept)) return;
      if (!shape('the entity', c.per, got.entity)) return;
      const width = c.outputWidth * ((c.options.intercept ? 1 : 0) + c.inputWidth);
      if (!shape('the block width', width, got.blockWidth)) return;
      for (const [id, b] of got.blocks) {
        if (b.length !== width || !b.every(Number.isFinite))
          return invalid(`entity '${id}': block is not ${width} finite numbers`);
      }
      return;
    }
    case 'gbdt': {
      if (got.base.length !== c.outputWidth || !got.base.every(Number.isFinite))
        return invalid('base margins');
      const categorySize = new Map<number, number>();
      for (const f of c.features) if (f.type.kind === 'category') categorySize.set(f.offset, f.type.size);
      got.trees.forEach((t, i) => {
        const problem = treeProblem(t, c.inputWidth, c.outputWidth, categorySize);
        if (problem !== null) invalid(`tree ${i}: ${problem}`);
      });
      return;
    }
    case 'mlp': {
      const widths = [c.inputWidth, ...c.options.hidden, c.outputWidth];
      const gotWidths =
        got.layers.length === 0 ? [] : [got.layers[0]!.inputs, ...got.layers.map((l) => l.outputs)];
      if (!shape('the layer widths', widths, gotWidths)) return;
      if (!shape('the activation', c.options.activation, got.activation)) return;
      got.layers.forEach((l, i) => {
        if (i > 0 && l.inputs !== got.layers[i - 1]!.outputs)
          invalid(`layer ${i} does not take layer ${i - 1}'s outputs`);
        if (!l.weights.every(Number.isFinite) || !l.bias.every(Number.isFinite))
          invalid(`layer ${i}: non-finite weight`);
      });
      return;
    }
  }
}

function describeKind(k: string): string {
  return k === 'random_effect' ? 'a per-entity linear (random effect)' : `a ${k}`;
}

/** Why a tree cannot be evaluated, or null. Children must come after their parent (no cycles). */
function treeProblem(
  t: GbdtTree,
  inputWidth: number,
  classes: number,
  categorySize: Map<number, number>,
): string | null {
  if (t.nodes.length === 0) return 'no nodes';
  if (t.class < 0 || t.class >= classes) return `class ${t.class} out of range`;
  for (let i = 0; i < t.nodes.length; i++) {
    const n = t.nodes[i]!;
    if (n.split === 'leaf') {
      if (!Number.isFinite(n.value)) return `node ${i}: leaf value is not finite`;
      continue;
    }
    if (n.feature < 0 || n.feature >= inputWidth)
      return `node ${i}: feature ${n.feature} outside 0..${inputWidth - 1}`;
    if (!(n.left > i && n.left < t.nodes.length && n.right > i && n.right < t.nodes.length))
      return `node ${i}: children must be later nodes of the same tree`;
    if (n.split === 'numeric' && Number.isNaN(n.threshold)) return `node ${i}: threshold is NaN`;
    if (n.split === 'categorical') {
      const size = categorySize.get(n.feature);
      if (size === undefined)
        return `node ${i}: categorical split on feature ${n.feature}, which is not a category`;
      if (n.categories.some((k) => !Number.isInteger(k) || k < 0 || k > size))
        return `node ${i}: category indices must be in 0..${size} (${size} = out of vocabulary)`;
    }
  }
  return null;
}

function nonDecreasingFinite(xs: Float64Array): boolean {
  return xs.every((v, i) => Number.isFinite(v) && (i === 0 || v >= xs[i - 1]!));
}
