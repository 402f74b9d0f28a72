// `proml train model.pml --data train.csv [--validation valid.csv] -o bundle/ [--quiet]`: flags →
// trainer/train.ts. Input: argv after `train`. Output: the bundle, report.json/report.txt and
// validation-predictions.csv in the output directory; progress on stderr (trainer/progress.ts: a bar on a
// terminal, lines when not a terminal or under CI=true, nothing with --quiet);
// the readable report on stdout. Exit 0 ok, 1 a data/model/trainer error (PML50xx), 2 bad usage.

// The trainer (and with it the compiler back end and binaryen) loads only when `train` runs: every
// other command stays fast.

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  /** Raw writes to stderr (the progress bar) and whether stderr is a terminal. */
  errRaw?: (s: string) => void;
  tty?: boolean;
}

export const TRAIN_USAGE = `  train <model.pml> --data <train.arrow|.parquet|.csv> -o <bundle/> [--validation <file>] [--quiet]
                         fit the model's components on a table of examples; writes the
                         coefficient bundle, a report and the held-out predictions
                         [--folds <k>] k-fold cross-validation (replaces the hold-out)
                         [--search off|random|tpe] [--trials <n>] [--parallel <n>] [--search-time <s>]
                         override the train blocks' search settings
                         [--retrain <component,...> --from <bundle/>] refit those components,
                         the others locked at the bundle's coefficients`;

export async function cmdTrain(args: string[], io: Io): Promise<number> {
  const values = new Map<string, string>();
  const files: string[] = [];
  let quiet = false;
  const names: Record<string, string> = {
    '--data': 'data',
    '-d': 'data',
    '--validation': 'validation',
    '--out': 'out',
    '-o': 'out',
    '--folds': 'folds',
    '--search': 'search',
    '--trials': 'trials',
    '--parallel': 'parallel',
    '--search-time': 'searchTime',
    '--retrain': 'retrain',
    '--from': 'from',
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--quiet' || a === '-q') quiet = true;
    else if (a in names) {
      const v = args[++i];
      if (v === undefined) return usage(io, `${a} needs a value`);
      values.set(names[a]!, v);
    } else if (a.startsWith('-')) return usage(io, `unknown option '${a}'`);
    else files.push(a);
  }
  if (files.length !== 1) return usage(io, 'give exactly one model file');
  const data = values.get('data');
  const out = values.get('out');
  if (data === undefined) return usage(io, '--data <train.csv> is required');
  if (out === undefined) return usage(io, '-o <output dir> is required');
  // cross-validation and search overrides (trainer/tune.ts)
  const int = (key: string, min: number): number | null | string => {
    const v = values.get(key);
    if (v === undefined) return null;
    const n = Number(v);
    return Number.isInteger(n) && n >= min
      ? n
      : `--${key === 'searchTime' ? 'search-time' : key} needs an integer ≥ ${min}`;
  };
  const tune = {
    folds: int('folds', 2),
    trials: int('trials', 1),
    parallel: int('parallel', 1),
    searchTime: int('searchTime', 1),
  };
  for (const v of Object.values(tune)) if (typeof v === 'string') return usage(io, v);
  const search = values.get('search') ?? null;
  if (search !== null && search !== 'off' && search !== 'random' && search !== 'tpe')
    return usage(io, '--search takes off, random or tpe');
  const { TrainError, formatReport, trainModel } = await import('../trainer/train.js');
  const { progressFor } = await import('../trainer/progress.js');
  const progress = progressFor({
    quiet,
    tty: io.tty === true && io.errRaw !== undefined,
    raw: io.errRaw ?? ((s): void => io.err(s)),
    line: io.err,
    columns: process.stderr.columns,
    prefix: 'proml train: ',
  });
  try {
    const report = await trainModel(files[0]!, {
      data,
      validation: values.get('validation') ?? null,
      out,
      progress,
      retrain: values.get('retrain')?.split(',') ?? null,
      from: values.get('from') ?? null,
      ...(tune as Record<keyof typeof tune, number | null>),
      search,
    });
    io.out(formatReport(report));
    return 0;
  } catch (e) {
    if (io.tty === true && !quiet) io.errRaw?.('\r\x1b[K'); // a progress bar may be on the line
    if (e instanceof TrainError) {
      io.err(`${files[0]}: error ${e.message}`);
      return 1;
    }
    throw e;
  }
}

function usage(io: Io, message: string): number {
  io.err(`proml train: ${message}\nusage:\n${TRAIN_USAGE}`);
  return 2;
}
