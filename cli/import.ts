// `proml import xgboost|lightgbm <model file> -o <outdir/> [--name NAME] [--feature-names a,b,c]`:
// flags → trainer/import/. Input: argv after `import`. Output: outdir/model.pml and outdir/bundle/
// (ready for `proml compile`); a summary on stderr. Exit 0 ok, 1 an import error (PML52xx), 2 bad usage.

import { IMPORT_FORMATS, ImportError, importModel, type ImportFormat } from '../trainer/import/index.js';

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

export const IMPORT_USAGE = `  import xgboost|lightgbm <model> -o <outdir/> [--name NAME] [--feature-names a,b,c]
                         convert an XGBoost JSON or LightGBM text model into model.pml and a
                         coefficient bundle (outdir/bundle/) for proml compile`;

export function cmdImport(args: string[], io: Io): number {
  const values = new Map<string, string>();
  const positional: string[] = [];
  const names: Record<string, string> = {
    '--out': 'out',
    '-o': 'out',
    '--name': 'name',
    '--feature-names': 'features',
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a in names) {
      const v = args[++i];
      if (v === undefined) return usage(io, `${a} needs a value`);
      values.set(names[a]!, v);
    } else if (a.startsWith('-')) return usage(io, `unknown option '${a}'`);
    else positional.push(a);
  }
  const [format, file, ...extra] = positional;
  if (format === undefined || !(IMPORT_FORMATS as readonly string[]).includes(format))
    return usage(io, `give the format first: ${IMPORT_FORMATS.join(' or ')}`);
  if (file === undefined || extra.length > 0) return usage(io, 'give exactly one model file');
  const out = values.get('out');
  if (out === undefined) return usage(io, '-o <output dir> is required');
  const name = values.get('name');
  if (name !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
    return usage(io, `--name '${name}' is not an identifier (letters, digits, _)`);
  const features = values.get('features');
  try {
    const r = importModel(format as ImportFormat, file, out, {
      ...(name === undefined ? {} : { name }),
      ...(features === undefined ? {} : { featureNames: features.split(',') }),
    });
    for (const w of r.warnings) if (!w.includes('PML2904')) io.err(`${r.pmlPath}: ${w}`);
    io.err(
      `imported ${file} (${r.features} features, ${r.trees} trees) → ${r.pmlPath}, ${r.bundleDir}/\n` +
        `next: proml compile ${r.pmlPath} --coefficients ${r.bundleDir} -o model.wasm`,
    );
    return 0;
  } catch (e) {
    if (e instanceof ImportError) {
      io.err(`${file}: error ${e.message}${e.hint !== undefined ? `\n  = hint: ${e.hint}` : ''}`);
      return 1;
    }
    throw e;
  }
}

function usage(io: Io, message: string): number {
  io.err(`proml import: ${message}\nusage:\n${IMPORT_USAGE}`);
  return 2;
}
