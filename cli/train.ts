// `proml train model.pml --data train.csv [--validation valid.csv] -o bundle/ [--quiet]`: flags →
// trainer/train.ts. Input: argv after `train`. Output: the bundle, report.json/report.txt and
// validation-predictions.csv in the output directory; progress lines on stderr (none with --quiet);
// the readable report on stdout. Exit 0 ok, 1 a data/model/trainer error (PML50xx), 2 bad usage.

// The trainer (and with it the compiler back end and binaryen) loads only when `train` runs: every
// other command stays fast.

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

export const TRAIN_USAGE = `  train <model.pml> --data <train.csv> -o <bundle/> [--validation <valid.csv>] [--quiet]
                         fit the model's components on a table of examples; writes the
                         coefficient bundle, a report and the held-out predictions`;

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
  const { TrainError, formatReport, trainModel } = await import('../trainer/train.js');
  try {
    const report = await trainModel(files[0]!, {
      data,
      validation: values.get('validation') ?? null,
      out,
      log: quiet ? undefined : (line) => io.err(`proml train: ${line}`),
    });
    io.out(formatReport(report));
    return 0;
  } catch (e) {
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
