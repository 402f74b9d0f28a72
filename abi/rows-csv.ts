// The CSV encoding of input rows (docs/abi.md, "Rows as CSV"): fixtures' rows.csv and `proml score
// --csv`. Input: CSV text and the kind of each column. Output: rows as plain objects
// `{input: value | null}` (and back). RFC 4180 quoting; an unquoted empty cell is missing, a quoted
// empty cell ("") is the empty string; bags and vectors are JSON arrays inside the cell.

/**
 * A row value: numbers, bools, strings (also categories and entity ids), bags and vectors as arrays;
 * a vector may also be a Float32Array or Float64Array (e.g. an embedding), taken as its numbers.
 */
export type RowValue = null | number | boolean | string | string[] | number[] | Float32Array | Float64Array;
export type Row = Record<string, RowValue>;

/** How a column's cells are written. */
export type CellKind = 'number' | 'bool' | 'string' | 'strings' | 'numbers';

export interface CsvColumn {
  name: string;
  kind: CellKind;
}

export class RowsCsvError extends Error {}

/** Parses CSV text whose header names exactly `columns` (in any order; extra columns are an error). */
export function parseRowsCsv(text: string, columns: CsvColumn[]): Row[] {
  const records = parseCsv(text);
  if (records.length === 0) throw new RowsCsvError('no header line');
  const header = records[0]!.map((c) => c.text);
  const byName = new Map(columns.map((c) => [c.name, c]));
  for (const h of header) if (!byName.has(h)) throw new RowsCsvError(`unknown column '${h}'`);
  for (const c of columns) if (!header.includes(c.name)) throw new RowsCsvError(`missing column '${c.name}'`);
  return records.slice(1).map((rec, r) => {
    if (rec.length !== header.length)
      throw new RowsCsvError(`line ${r + 2}: ${rec.length} cells, the header has ${header.length}`);
    const row: Row = {};
    header.forEach((h, i) => {
      row[h] = decodeCell(rec[i]!, byName.get(h)!.kind, `line ${r + 2}, column '${h}'`);
    });
    return row;
  });
}

export function formatRowsCsv(rows: Row[], columns: CsvColumn[]): string {
  const lines = [columns.map((c) => quote(c.name, false)).join(',')];
  for (const row of rows) lines.push(columns.map((c) => encodeCell(row[c.name] ?? null, c.kind)).join(','));
  return lines.join('\n') + '\n';
}

function encodeNumber(x: number): string {
  return Number.isNaN(x) ? 'NaN' : x === Infinity ? 'Infinity' : x === -Infinity ? '-Infinity' : String(x);
}

function encodeCell(v: RowValue, kind: CellKind): string {
  if (v === null) return '';
  switch (kind) {
    case 'number':
      return encodeNumber(v as number);
    case 'bool':
      return v ? 'true' : 'false';
    case 'string':
      return quote(String(v), true);
    case 'strings':
      return quote(JSON.stringify(v), true);
    case 'numbers':
      return quote(`[${Array.from(v as ArrayLike<number>, encodeNumber).join(',')}]`, true);
  }
}

function quote(s: string, quoteEmpty: boolean): string {
  if ((s === '' && quoteEmpty) || /[",\r\n]/.test(s) || s !== s.trim()) return `"${s.replace(/"/g, '""')}"`;
  return s;
}

function decodeNumber(s: string, where: string): number {
  if (s === 'NaN') return NaN;
  if (s === 'Infinity') return Infinity;
  if (s === '-Infinity') return -Infinity;
  const x = Number(s);
  if (s.trim() === '' || Number.isNaN(x)) throw new RowsCsvError(`${where}: '${s}' is not a number`);
  return x;
}

function decodeCell(cell: Cell, kind: CellKind, where: string): RowValue {
  if (cell.text === '' && !cell.quoted) return null;
  return decodeCsvValue(cell.text, kind, where);
}

/**
 * One present cell's text as a value of its column's kind (also the batch scorer's fast CSV reader's
 * decoder, runtime/node/batch-io.ts); `where` names the cell in the error.
 */
export function decodeCsvValue(s: string, kind: CellKind, where: string): RowValue {
  switch (kind) {
    case 'number':
      return decodeNumber(s, where);
    case 'bool':
      if (s === 'true') return true;
      if (s === 'false') return false;
      throw new RowsCsvError(`${where}: '${s}' is not true or false`);
    case 'string':
      return s;
    case 'strings': {
      let v: unknown;
      try {
        v = JSON.parse(s);
      } catch {
        throw new RowsCsvError(`${where}: a bag of strings is a JSON array, got '${s}'`);
      }
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
        throw new RowsCsvError(`${where}: a bag of strings is a JSON array of strings`);
      return v as string[];
    }
    case 'numbers': {
      const inner = s.trim();
      if (!inner.startsWith('[') || !inner.endsWith(']'))
        throw new RowsCsvError(`${where}: a list of numbers is written [1,2.5,NaN], got '${s}'`);
      const body = inner.slice(1, -1).trim();
      return body === '' ? [] : body.split(',').map((p) => decodeNumber(p.trim(), where));
    }
  }
}

interface Cell {
  text: string;
  quoted: boolean;
}

function parseCsv(text: string): Cell[][] {
  const out: Cell[][] = [];
  let rec: Cell[] = [];
  let i = 0;
  const n = text.length;
  if (n === 0) return out;
  for (;;) {
    let cell: Cell;
    if (text[i] === '"') {
      let s = '';
      i++;
      for (;;) {
        if (i >= n) throw new RowsCsvError('unterminated quoted cell');
        const c = text[i]!;
        if (c === '"') {
          if (text[i + 1] === '"') {
            s += '"';
            i += 2;
          } else {
            i++;
            break;
          }
        } else {
          s += c;
          i++;
        }
      }
      cell = { text: s, quoted: true };
    } else {
      let j = i;
      while (j < n && text[j] !== ',' && text[j] !== '\n' && text[j] !== '\r') j++;
      cell = { text: text.slice(i, j), quoted: false };
      i = j;
    }
    rec.push(cell);
    if (i >= n) {
      out.push(rec);
      break;
    }
    const c = text[i]!;
    if (c === ',') {
      i++;
      continue;
    }
    if (c === '\r' && text[i + 1] === '\n') i++;
    if (c === '\n' || c === '\r') {
      i++;
      out.push(rec);
      rec = [];
      if (i >= n) break;
      continue;
    }
    throw new RowsCsvError(`unexpected '${c}' after a quoted cell`);
  }
  return out;
}
