// The `proml.manifest` custom section of a scoring or transform module (docs/abi.md section 4).
// Input: CheckedModel, the IR module, the bundle.json text (optional) and the layout choices the
// emitter made. Output: an abi Manifest; the inputs and outputs come from compiler/schema.ts so the
// descriptor order is the declaration order of inputs and the topological order of outputs.

import { ABI_VERSION, HASH_SEED, UNICODE_VERSION, type BundleJson, type Manifest } from '../../abi/index.js';
import { entryHash, sha256Hex } from '../../abi/node.js';
import type * as ir from '../ir.js';
import { inputSchema, outputSchema } from '../schema.js';
import type { CheckedModel } from '../typed.js';

export interface ManifestParts {
  /** Default 'scoring'. A transform module has no outputs or entity blocks; its columns are the components'. */
  product?: 'scoring' | 'transform';
  sourceText: string;
  bundleJsonText: string | null;
  compilerVersion: string;
  strategies: Record<string, string>;
  initialPages: number;
}

export function buildManifest(checked: CheckedModel, mod: ir.Module, p: ManifestParts): Manifest {
  const bundleJson = p.bundleJsonText === null ? null : (JSON.parse(p.bundleJsonText) as BundleJson);
  const product = p.product ?? 'scoring';
  const scoring = product === 'scoring';
  // fitted statistics and calibration maps the module embeds, each pinned by its entry hash
  const fitted: Manifest['fitted'] = [];
  const seen = new Set<string>();
  for (const n of mod.nodes) {
    const key = n.attrs.key;
    if (key === undefined || seen.has(key)) continue;
    seen.add(key);
    const entry = n.op === 'calibrate' ? bundleJson?.calibrations[key] : bundleJson?.transforms[key];
    const kind = n.op === 'calibrate' ? (n.attrs.method ?? 'calibration') : n.op;
    fitted.push({ key, kind, sha256: entry === undefined ? '' : entryHash(entry) });
  }
  return {
    abi: ABI_VERSION,
    product,
    model: {
      name: checked.name,
      version: checked.meta.version ?? '',
      owner: checked.meta.owner,
      purpose: checked.meta.purpose,
      description: checked.meta.description,
    },
    compiler: { name: 'proml', version: p.compilerVersion },
    sourceSha256: sha256Hex(p.sourceText),
    bundleSha256: p.bundleJsonText === null ? null : sha256Hex(p.bundleJsonText),
    inputs: inputSchema(checked),
    entityBlocks: mod.components
      .filter((c) => scoring && c.per !== null)
      .map((c) => ({
        component: c.name,
        entity: mod.inputs[c.per!]!.name,
        width: c.outputWidth * ((c.intercept ? 1 : 0) + c.inputWidth),
        elem: 'f64' as const,
      })),
    outputs: scoring ? outputSchema(checked) : [],
    components: mod.components.map((c) => {
      const entry = bundleJson?.components[c.name];
      return {
        name: c.name,
        kind: c.per === null ? c.kind : 'random_effect',
        classes: c.outputWidth,
        inputWidth: c.inputWidth,
        per: c.per === null ? null : mod.inputs[c.per]!.name,
        sha256: entry === undefined || !scoring ? '' : entryHash(entry),
      };
    }),
    fitted,
    strategies: p.strategies,
    semantics: { hash: 'murmur3_x86_32', seed: HASH_SEED, unicode: UNICODE_VERSION },
    memory: { initialPages: p.initialPages, maxPages: null },
  };
}
