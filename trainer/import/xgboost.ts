// XGBoost's JSON model format (Booster.save_model('m.json'), XGBoost 1.x–2.x gbtree) → ImportedModel.
// Input: the text of the JSON file. Output: an ImportedModel (trainer/import/common.ts): f32 inputs
// (XGBoost converts features to float32 and tests `x < split_condition` in float32, so the
// thresholds are kept as the exact float32 values: comparing f32-exact doubles gives the same
// answers), trees renumbered in preorder, leaf values (learning rate applied) as float32, base
// margin from base_score per objective (XGBoost's ProbToMargin, in float32), the link of the
// objective. Categorical (partition) splits become proml categorical splits on category inputs whose
// labels are the codes "0".."k-1". Errors are ImportError (PML52xx).

import type { GbdtNode, GbdtTree } from '../../abi/bundle.js';
import { gbdtLeaf } from '../../abi/bundle.js';
import {
  ImportError,
  modelNameFromPath,
  preorder,
  type ImportedFeature,
  type ImportedModel,
  type ImportOptions,
  type Link,
} from './common.js';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/**
 * JSON.parse, but XGBoost writes NaN / Infinity / -Infinity as bare words (split_conditions of
 * categorical nodes are NaN): those become null before parsing (strings are left alone).
 */
function parseJson(text: string): Json {
  const fixed = text.replace(/"(?:[^"\\]|\\.)*"|-?\b(?:NaN|Infinity)\b/g, (m) =>
    m.startsWith('"') ? m : 'null',
  );
  return JSON.parse(fixed) as Json;
}

function isObject(v: Json | undefined): v is { [k: string]: Json } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Objective → link and base margin from base_score (XGBoost ProbToMargin, float32). */
const OBJECTIVES: Record<string, { link: Link; base: 'logit' | 'identity' | 'log'; argmax?: boolean }> = {
  'binary:logistic': { link: 'sigmoid', base: 'logit' },
  'reg:logistic': { link: 'sigmoid', base: 'logit' },
  'binary:logitraw': { link: 'identity', base: 'logit' },
  'reg:squarederror': { link: 'identity', base: 'identity' },
  'reg:linear': { link: 'identity', base: 'identity' },
  'reg:squaredlogerror': { link: 'identity', base: 'identity' },
  'reg:pseudohubererror': { link: 'identity', base: 'identity' },
  'reg:absoluteerror': { link: 'identity', base: 'identity' },
  'reg:quantileerror': { link: 'identity', base: 'identity' },
  'rank:pairwise': { link: 'identity', base: 'identity' },
  'rank:ndcg': { link: 'identity', base: 'identity' },
  'rank:map': { link: 'identity', base: 'identity' },
  'count:poisson': { link: 'exp', base: 'log' },
  'reg:gamma': { link: 'exp', base: 'log' },
  'reg:tweedie': { link: 'exp', base: 'log' },
  'multi:softprob': { link: 'softmax', base: 'identity' },
  'multi:softmax': { link: 'softmax', base: 'identity', argmax: true },
};

const f32 = Math.fround;

/** XGBoost's base margin: ProbToMargin(base_score), computed in float32 like XGBoost. */
function baseMargin(kind: 'logit' | 'identity' | 'log', baseScore: number): number {
  const p = f32(baseScore);
  if (kind === 'identity') return p;
  if (kind === 'log') {
    if (!(p > 0)) throw new ImportError('notAModel', `base_score ${baseScore} must be > 0 for a log link`);
    return f32(Math.log(p));
  }
  if (!(p > 0 && p < 1))
    throw new ImportError('notAModel', `base_score ${baseScore} must be in (0, 1) for a logistic objective`);
  return f32(-Math.log(f32(f32(1 / p) - 1)));
}

function numberList(
  tree: { [k: string]: Json },
  key: string,
  n: number,
  where: string,
  nullable = false,
): number[] {
  const v = tree[key];
  if (!Array.isArray(v) || v.length !== n)
    throw new ImportError('notAModel', `${where}: '${key}' is not a list of ${n} numbers`);
  return v.map((x, i) => {
    if (typeof x === 'number') return x;
    if (typeof x === 'boolean') return x ? 1 : 0;
    if (x === null && nullable) return NaN;
    throw new ImportError('notAModel', `${where}: ${key}[${i}] is not a number`);
  });
}

/** Parses an XGBoost JSON model. `path` names the file (default model name, messages). */
export function importXgboost(text: string, path: string, options: ImportOptions = {}): ImportedModel {
  let doc: Json;
  try {
    doc = parseJson(text);
  } catch (e) {
    throw new ImportError(
      'notAModel',
      `${path} is not JSON (${e instanceof Error ? e.message : String(e)})`,
      'give the file written by booster.save_model("model.json"); a binary model (.ubj, or the old ' +
        '.model/.bin format) must be saved again with a .json name',
    );
  }
  const learner = isObject(doc) ? doc['learner'] : undefined;
  if (!isObject(learner))
    throw new ImportError(
      'notAModel',
      `${path} is JSON but not an XGBoost model (no 'learner')`,
      'give the file written by booster.save_model("model.json") (not save_config or dump_model)',
    );
  const version =
    isObject(doc) && Array.isArray(doc['version']) ? doc['version'].join('.') : 'unknown version';
  const source = `xgboost ${version}`;

  // objective
  const objective = isObject(learner['objective']) ? learner['objective']['name'] : undefined;
  if (typeof objective !== 'string') throw new ImportError('notAModel', `${path}: no learner.objective.name`);
  const obj = OBJECTIVES[objective];
  if (obj === undefined)
    throw new ImportError(
      'objective',
      `objective '${objective}' is not supported`,
      `supported: ${Object.keys(OBJECTIVES).join(', ')}`,
    );

  // model parameters
  const param = learner['learner_model_param'];
  if (!isObject(param)) throw new ImportError('notAModel', `${path}: no learner.learner_model_param`);
  const num = (key: string, fallback?: number): number => {
    const raw = param[key];
    // XGBoost ≥ 2.1 may write vectors as "[5E-1]"
    const s = typeof raw === 'string' ? raw.replace(/^\[|\]$/g, '') : raw;
    const v = typeof s === 'string' ? Number(s) : typeof s === 'number' ? s : undefined;
    if (v === undefined || (typeof s === 'string' && s.trim() === '') || Number.isNaN(v)) {
      if (fallback !== undefined && raw === undefined) return fallback;
      throw new ImportError('notAModel', `${path}: learner_model_param.${key} is not a number`);
    }
    return v;
  };
  const numFeature = num('num_feature');
  const numClass = num('num_class', 0);
  const numTarget = num('num_target', 1);
  if (numTarget !== 1)
    throw new ImportError('unsupported', `multi-target models (num_target ${numTarget}) are not supported`);
  const classes = obj.link === 'softmax' ? numClass : 1;
  if (obj.link === 'softmax' && !(classes >= 2))
    throw new ImportError('notAModel', `${objective} with num_class ${numClass}`);
  if (obj.link !== 'softmax' && numClass > 1)
    throw new ImportError('notAModel', `${objective} with num_class ${numClass}`);
  if (!(Number.isInteger(numFeature) && numFeature >= 1))
    throw new ImportError('notAModel', `${path}: num_feature ${numFeature}`);
  const baseScore = num('base_score', 0.5);
  const base = baseMargin(obj.base, baseScore);

  // booster
  const booster = learner['gradient_booster'];
  if (!isObject(booster)) throw new ImportError('notAModel', `${path}: no learner.gradient_booster`);
  const boosterName = booster['name'];
  if (boosterName !== 'gbtree')
    throw new ImportError(
      'unsupported',
      `booster '${String(boosterName)}' is not supported (only gbtree)`,
      boosterName === 'dart'
        ? 'dart scales trees by their drop weights at prediction time; retrain with booster gbtree'
        : undefined,
    );
  const model = booster['model'];
  if (!isObject(model) || !Array.isArray(model['trees']) || !Array.isArray(model['tree_info']))
    throw new ImportError('notAModel', `${path}: no gradient_booster.model.trees / tree_info`);
  const treesJson = model['trees'];
  const treeInfo = model['tree_info'];
  if (treeInfo.length !== treesJson.length)
    throw new ImportError(
      'notAModel',
      `${path}: ${treesJson.length} trees but ${treeInfo.length} tree_info entries`,
    );

  // features
  const namesJson = Array.isArray(learner['feature_names']) ? learner['feature_names'] : [];
  const typesJson = Array.isArray(learner['feature_types']) ? learner['feature_types'] : [];
  if (
    (namesJson.length > 0 && namesJson.length !== numFeature) ||
    (typesJson.length > 0 && typesJson.length !== numFeature)
  )
    throw new ImportError(
      'notAModel',
      `${path}: feature_names/feature_types do not have ${numFeature} entries`,
    );
  const featureNames =
    namesJson.length > 0 ? namesJson.map(String) : Array.from({ length: numFeature }, (_, j) => `f${j}`);
  const categorical = Array.from({ length: numFeature }, (_, j) => typesJson[j] === 'c');
  /** categorical features: largest code any split lists. */
  const maxCode = new Array<number>(numFeature).fill(-1);

  const trees: GbdtTree[] = [];
  const pending: { nodes: GbdtNode[]; sets: Map<number, number[]>; cls: number; where: string }[] = [];
  treesJson.forEach((t, ti) => {
    const where = `tree ${ti}`;
    if (!isObject(t)) throw new ImportError('notAModel', `${where} is not an object`);
    const tp = t['tree_param'];
    const n = isObject(tp) ? Number(tp['num_nodes']) : NaN;
    if (!(Number.isInteger(n) && n >= 1))
      throw new ImportError('notAModel', `${where}: no tree_param.num_nodes`);
    if (isObject(tp) && Number(tp['size_leaf_vector'] ?? 0) > 1)
      throw new ImportError('unsupported', `${where}: vector leaves (multi-target trees) are not supported`);
    const left = numberList(t, 'left_children', n, where);
    const right = numberList(t, 'right_children', n, where);
    const feature = numberList(t, 'split_indices', n, where);
    const cond = numberList(t, 'split_conditions', n, where, true);
    const defaultLeft = numberList(t, 'default_left', n, where);
    const splitType =
      t['split_type'] === undefined ? new Array<number>(n).fill(0) : numberList(t, 'split_type', n, where);
    // categorical splits: the categories listed for a node go RIGHT in XGBoost (common::Decision)
    const sets = new Map<number, number[]>();
    if (splitType.some((s) => s === 1)) {
      const cats = t['categories'];
      const nodes = t['categories_nodes'];
      const segs = t['categories_segments'];
      const sizes = t['categories_sizes'];
      if (!Array.isArray(cats) || !Array.isArray(nodes) || !Array.isArray(segs) || !Array.isArray(sizes))
        throw new ImportError('notAModel', `${where}: categorical splits without categories`);
      nodes.forEach((node, k) => {
        const beg = Number(segs[k]);
        const size = Number(sizes[k]);
        const list = cats.slice(beg, beg + size).map(Number);
        if (!list.every((c) => Number.isInteger(c) && c >= 0))
          throw new ImportError('notAModel', `${where}: bad category list for node ${String(node)}`);
        sets.set(Number(node), list);
      });
    }
    const cls = Number(treeInfo[ti]);
    if (!(Number.isInteger(cls) && cls >= 0 && cls < classes))
      throw new ImportError(
        'notAModel',
        `${where}: tree_info ${String(treeInfo[ti])} is not a class of ${classes}`,
      );
    const nodes: GbdtNode[] = [];
    for (let i = 0; i < n; i++) {
      if (left[i] === -1) {
        const v = cond[i]!;
        if (!Number.isFinite(v))
          throw new ImportError('notAModel', `${where}: leaf ${i} value is not finite`);
        nodes.push(leaf(f32(v)));
        continue;
      }
      const j = feature[i]!;
      if (!(Number.isInteger(j) && j >= 0 && j < numFeature))
        throw new ImportError(
          'notAModel',
          `${where}: node ${i} tests feature ${j} (the model has ${numFeature})`,
        );
      const common = {
        feature: j,
        defaultLeft: defaultLeft[i] !== 0,
        left: left[i]!,
        right: right[i]!,
        value: 0,
      };
      if (splitType[i] === 1) {
        if (!categorical[j])
          throw new ImportError('notAModel', `${where}: categorical split on feature ${j}, which is not 'c'`);
        const list = sets.get(i);
        if (list === undefined) throw new ImportError('notAModel', `${where}: node ${i} has no categories`);
        for (const c of list) maxCode[j] = Math.max(maxCode[j]!, c);
        nodes.push({ split: 'categorical', threshold: 0, categories: list, ...common });
      } else {
        if (categorical[j])
          throw new ImportError(
            'unsupported',
            `${where}: numeric split on categorical feature ${j} (one-hot encoded categories) is not supported`,
          );
        const thr = f32(cond[i]!);
        if (Number.isNaN(thr))
          throw new ImportError('notAModel', `${where}: node ${i} threshold is not a number`);
        nodes.push({ split: 'numeric', threshold: thr, categories: [], ...common });
      }
    }
    pending.push({ nodes, sets, cls, where });
  });

  // category vocabularies: codes 0..max (+1 for OOV); the listed categories go right, so the left
  // set is every other index, OOV included (XGBoost sends codes outside a node's bitset left)
  const features: ImportedFeature[] = featureNames.map((name, j) =>
    categorical[j]
      ? { source: name, kind: 'categorical', size: Math.max(1, maxCode[j]! + 1) }
      : { source: name, kind: 'numeric' },
  );
  for (const p of pending) {
    const nodes = p.nodes.map((node): GbdtNode => {
      if (node.split !== 'categorical') return node;
      const size = features[node.feature]!.size!;
      const right = new Set(node.categories);
      const leftSet: number[] = [];
      for (let k = 0; k <= size; k++) if (!right.has(k)) leftSet.push(k);
      return { ...node, categories: leftSet };
    });
    trees.push(preorder({ class: p.cls, nodes }, p.where));
  }

  const notes = [
    'inputs are f32 and thresholds their exact float32 values, so routing matches XGBoost',
    `base margin ${base} from base_score ${baseScore}`,
  ];
  if (categorical.some(Boolean))
    notes.push('categorical features are category inputs with the codes as labels ("0", "1", ...)');
  return {
    source,
    objective,
    name: options.name ?? modelNameFromPath(path),
    features,
    inputType: 'f32',
    classes,
    link: obj.link,
    ...(obj.argmax === true ? { argmax: true } : {}),
    trees,
    base: new Array<number>(classes).fill(base),
    notes,
    float32: true,
  };
}

const leaf = gbdtLeaf;
