// The model's columns as the ABI sees them: input and output schemas for the manifest, and the CSV
// cell kinds of its inputs. Input: CheckedModel. Output: abi InputColumn / OutputColumn / CsvColumn
// lists in declaration order (inputs) and topological order (outputs), which is the descriptor order.

import type { CsvColumn, InputColumn, InputType, OutputColumn } from '../abi/index.js';
import type { CheckedInput, CheckedModel, ConstValue } from './typed.js';
import type { Type } from './types.js';

export function inputType(t: Type): InputType {
  switch (t.kind) {
    case 'num':
      return { kind: t.num };
    case 'bool':
    case 'string':
    case 'entity':
      return { kind: t.kind };
    case 'category':
      return { kind: 'category', labels: t.labels ?? [] };
    case 'bag':
      return { kind: 'bag', elem: t.elem };
    case 'vector':
      return { kind: 'vector', elem: t.elem, size: t.size };
    default:
      throw new Error(`internal error: '${t.kind}' is not an input type`);
  }
}

function defaultJson(v: ConstValue | null, size: number): InputColumn['default'] {
  if (v === null) return null;
  switch (v.kind) {
    case 'number':
    case 'bool':
    case 'string':
      return v.value;
    case 'label':
      return v.label;
    case 'vector':
      return v.values.length === 1 && size > 1 ? Array(size).fill(v.values[0]) : v.values;
  }
}

export function inputColumn(i: CheckedInput): InputColumn {
  const t = i.declared;
  return {
    name: i.name,
    type: inputType(t),
    optional: i.optional,
    required: i.required,
    default: defaultJson(i.default, t.kind === 'vector' ? t.size : 1),
    range: i.range,
    unknown:
      i.unknown === null ? null : i.unknown.kind === 'label' ? { label: i.unknown.label } : i.unknown.kind,
    pii: i.pii,
  };
}

export function inputSchema(model: CheckedModel): InputColumn[] {
  return model.inputs.map(inputColumn);
}

export function outputSchema(model: CheckedModel): OutputColumn[] {
  return model.outputs.map((o) => {
    const t = o.type;
    if (t.kind === 'vector') return { name: o.name, type: 'f32', size: t.size };
    if (t.kind === 'bool') return { name: o.name, type: 'bool', size: 1 };
    if (t.kind === 'num') return { name: o.name, type: t.num, size: 1 };
    throw new Error(`internal error: output '${o.name}' has type ${t.kind}`);
  });
}

/** How each input is written in rows.csv. */
export function csvColumns(model: CheckedModel): CsvColumn[] {
  return model.inputs.map((i) => {
    const t = i.declared;
    const kind: CsvColumn['kind'] =
      t.kind === 'num'
        ? 'number'
        : t.kind === 'bool'
          ? 'bool'
          : t.kind === 'bag'
            ? t.elem === 'string'
              ? 'strings'
              : 'numbers'
            : t.kind === 'vector'
              ? 'numbers'
              : 'string';
    return { name: i.name, kind };
  });
}
