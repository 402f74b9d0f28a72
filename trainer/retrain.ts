// Partial retraining (`proml train --retrain member_re --from old_bundle/`): refit the chosen
// components and lock the others. A locked component keeps its coefficients from the given bundle
// and takes part in coordinate descent only as an offset (its margins on the training and held-out
// rows); the fitted transforms are the bundle's too, so the locked components see the features they
// were trained on. Input: the checked model, the component names and the bundle directory. Output:
// the locked coefficients (checked against the model), or TrainError PML5008; trainer/block.ts
// fitBlock keeps them (`locked`) and fits the others.

import type { Bundle, ComponentCoefficients } from '../abi/index.js';
import { readBundle } from '../abi/node.js';
import type { CheckedComponent, CheckedModel } from '../compiler/typed.js';
import { TrainError } from './errors.js';

export interface RetrainOptions {
  /** Components to refit (the others of the trained outputs are locked); needs `from`. */
  retrain?: readonly string[] | null;
  /** The bundle directory the locked components (and the fitted transforms) come from. */
  from?: string | null;
}

export interface Locked {
  from: string;
  bundle: Bundle;
  /** Locked component → its coefficients from the bundle. */
  coefs: Map<string, ComponentCoefficients>;
  retrained: string[];
}

/** The components some train block fits. */
function trainedComponents(model: CheckedModel): CheckedComponent[] {
  const names = new Set(
    model.trains.flatMap((t) => model.outputs.find((o) => o.name === t.output)?.trained?.components ?? []),
  );
  return model.components.filter((c) => names.has(c.name));
}

const kindOf = (c: CheckedComponent): ComponentCoefficients['kind'] =>
  c.kind === 'linear' ? (c.per === null ? 'linear' : 'random_effect') : (c.kind as 'gbdt' | 'mlp');

/** null without --retrain / --from; else the locked components, checked against the model. */
export function lockedFrom(model: CheckedModel, options: RetrainOptions): Locked | null {
  const names = options.retrain ?? null;
  const from = options.from ?? null;
  if (names === null && from === null) return null;
  if (names === null || from === null)
    throw new TrainError(
      'retrain',
      names === null
        ? '--from needs --retrain (the components to refit)'
        : '--retrain needs --from (the bundle the other components come from)',
    );
  const trained = trainedComponents(model);
  for (const n of names)
    if (!trained.some((c) => c.name === n))
      throw new TrainError(
        'retrain',
        `--retrain ${n}: no trained component '${n}' in model '${model.name}' (components: ${trained.map((c) => c.name).join(', ')})`,
      );
  let bundle: Bundle;
  try {
    bundle = readBundle(from);
  } catch (e) {
    throw new TrainError('retrain', `--from ${from}: ${(e as Error).message}`);
  }
  if (bundle.model.name !== model.name)
    throw new TrainError(
      'retrain',
      `--from ${from}: the bundle is for model '${bundle.model.name}', not '${model.name}'`,
    );
  const coefs = new Map<string, ComponentCoefficients>();
  for (const c of trained) {
    if (names.includes(c.name)) continue;
    const coef = bundle.components.get(c.name);
    const where = `--from ${from}: locked component '${c.name}'`;
    if (coef === undefined) throw new TrainError('retrain', `${where} is not in the bundle`);
    if (coef.kind !== kindOf(c))
      throw new TrainError('retrain', `${where} is ${coef.kind} in the bundle, ${kindOf(c)} in the model`);
    if (coef.kind === 'mlp')
      throw new TrainError('retrain', `${where}: locking an mlp component is not supported yet (retrain it)`);
    if (coef.inputWidth !== c.inputWidth || coef.classes !== c.outputWidth)
      throw new TrainError(
        'retrain',
        `${where} has ${coef.inputWidth} inputs × ${coef.classes} outputs in the bundle, ${c.inputWidth} × ${c.outputWidth} in the model`,
      );
    coefs.set(c.name, coef);
  }
  return { from, bundle, coefs, retrained: [...names] };
}

/**
 * The bundle's fitted-transform statistics replace the ones just fitted (every key the model needs
 * must be there: the locked components were trained on those features).
 */
export function useLockedTransforms(bundle: Bundle, locked: Locked): void {
  for (const key of bundle.transforms.keys()) {
    const old = locked.bundle.transforms.get(key);
    if (old === undefined)
      throw new TrainError('retrain', `--from ${locked.from}: the bundle has no fitted transform '${key}'`);
    bundle.transforms.set(key, old);
  }
}

/** The locked components among a block's (trainer/block.ts fitBlock keeps them and fits the others). */
export function lockedIn(
  locked: Locked | null,
  comps: readonly CheckedComponent[],
): Map<string, ComponentCoefficients> {
  const out = new Map<string, ComponentCoefficients>();
  for (const c of comps) {
    const coef = locked?.coefs.get(c.name);
    if (coef !== undefined) out.set(c.name, coef);
  }
  return out;
}
