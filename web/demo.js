// The browser demo (docs/browser.md): load a compiled proml module (.wasm) from a URL (?model=...)
// or a file picker, read its manifest, render one form field per input (typed by the manifest),
// score the typed row with the same runtime core Node uses (proml-runtime.js, the esbuild bundle
// of runtime/index.ts) and show the outputs, or the rejection with its PML code.
// Entity blocks for per-entity components come from an optional JSON file (?entities=... or the
// second picker): {component: {id: [numbers] | base64 of little-endian f64}}; without one, every
// entity is unknown and contributes zero, as the DSL defines.
// Also exported for tests and other pages: entityStoreFromJson, decodeBlock, readField.
/* global document, fetch, location, FileReader, URLSearchParams, atob */

import { MemoryEntityStore, Model, RuntimeError } from './proml-runtime.js';

/** A block from the entities JSON: a list of numbers, or base64 of little-endian f64 bytes (exact). */
export function decodeBlock(v) {
  if (Array.isArray(v)) return Float64Array.from(v);
  if (typeof v !== 'string') throw new Error('an entity block is a list of numbers or a base64 string');
  const bin = atob(v);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  if (bytes.length % 8 !== 0) throw new Error('a base64 entity block must hold whole f64 values');
  const view = new DataView(bytes.buffer);
  return Float64Array.from({ length: bytes.length / 8 }, (_, k) => view.getFloat64(k * 8, true));
}

/** A MemoryEntityStore from {component: {id: block}} (see decodeBlock). */
export function entityStoreFromJson(json) {
  const store = new MemoryEntityStore();
  if (typeof json !== 'object' || json === null) throw new Error('the entities JSON is not an object');
  for (const [component, blocks] of Object.entries(json))
    for (const [id, block] of Object.entries(blocks)) store.put(component, id, decodeBlock(block));
  return store;
}

const splitList = (text) => text.split(',').map((s) => s.trim());

/**
 * The row value of one form field, from the control's state (the runtime checks types and shapes
 * and reports PML42xx; the module applies defaults, ranges and category rules per row).
 * An empty text field, the '(missing)' option or a ticked 'missing' box means missing (null).
 */
export function readField(input, control, missing) {
  if (missing !== null && missing.checked) return null;
  const t = input.type;
  if (t.kind === 'bool') return control.checked;
  const raw = control.value;
  if (t.kind === 'category') return raw === '' ? null : raw;
  if (raw.trim() === '') return null;
  switch (t.kind) {
    case 'f32':
    case 'f64':
    case 'int':
      return Number(raw);
    case 'string':
    case 'entity':
      return raw;
    case 'bag':
      return t.elem === 'string' ? splitList(raw) : splitList(raw).map(Number);
    case 'vector':
      return splitList(raw).map(Number);
    default:
      return raw;
  }
}

function typeText(t) {
  if (t.kind === 'category') return `category (${t.labels.length} label${t.labels.length === 1 ? '' : 's'})`;
  if (t.kind === 'bag') return `bag<${t.elem}>`;
  if (t.kind === 'vector') return `vector<${t.elem}>[${t.size}]`;
  return t.kind;
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'text') e.textContent = String(v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null) e.append(c);
  return e;
}

function formatValue(v) {
  if (v === null) return '(missing)';
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return v.map(String).join(', ');
  return String(v);
}

/** One labelled control per input; returns the row builder. */
function renderForm(model, form) {
  const fields = [];
  for (const input of model.manifest.inputs) {
    const t = input.type;
    const id = `in-${input.name}`;
    let control;
    if (t.kind === 'bool') control = el('input', { type: 'checkbox', id, name: input.name });
    else if (t.kind === 'category') {
      const missingText =
        input.default === null ? '(missing)' : `(missing: default ${formatValue(input.default)})`;
      control = el('select', { id, name: input.name }, el('option', { value: '', text: missingText }));
      for (const label of t.labels) control.append(el('option', { value: label, text: label }));
    } else {
      const numeric = t.kind === 'f32' || t.kind === 'f64' || t.kind === 'int';
      const hint =
        t.kind === 'bag' || t.kind === 'vector'
          ? `comma-separated${t.kind === 'vector' ? `, ${t.size} numbers` : ''}`
          : t.kind === 'entity'
            ? 'entity id'
            : '';
      const dflt = input.default === null ? '' : `default ${formatValue(input.default)}`;
      control = el('input', {
        type: numeric ? 'number' : 'text',
        step: numeric ? (t.kind === 'int' ? '1' : 'any') : null,
        id,
        name: input.name,
        placeholder: [hint, dflt].filter((s) => s !== '').join('; ') || null,
        autocomplete: 'off',
      });
    }
    // booleans cannot be left empty: a 'missing' box stands for it when the input may be missing
    const canMiss = !input.required && (input.optional || input.default !== null);
    const missing =
      t.kind === 'bool' && canMiss
        ? el('input', { type: 'checkbox', id: `${id}-missing`, checked: true, title: 'missing' })
        : null;
    // ticking the value un-ticks 'missing'
    if (missing !== null) control.addEventListener('change', () => (missing.checked = false));
    const notes = [
      typeText(t),
      input.required ? 'required' : null,
      t.kind === 'bool' && input.default !== null ? `default ${String(input.default)}` : null,
      input.range === null ? null : `range ${input.range.lo} … ${input.range.hi}`,
      input.pii ? 'pii' : null,
    ].filter((s) => s !== null);
    form.append(
      el(
        'div',
        { class: 'field' },
        el('label', { for: id, text: input.name }),
        el(
          'span',
          { class: 'control' },
          control,
          missing === null ? null : el('label', { class: 'missing' }, missing, ' missing'),
        ),
        el('span', { class: 'notes', text: notes.join(' · ') }),
      ),
    );
    fields.push({ input, control, missing });
  }
  form.append(el('button', { type: 'submit', id: 'score', text: 'Score' }));
  return () => {
    const row = {};
    for (const f of fields) {
      const v = readField(f.input, f.control, f.missing);
      if (v !== null) row[f.input.name] = v;
    }
    return row;
  };
}

function renderManifest(model, box) {
  const m = model.manifest;
  box.replaceChildren(
    el('h2', { id: 'model-name', text: `${m.model.name} ${m.model.version}` }),
    el('p', { text: m.model.description ?? m.model.purpose ?? '' }),
    el(
      'dl',
      {},
      el('dt', { text: 'module sha256' }),
      el('dd', { id: 'model-sha', text: model.sha256 ?? '' }),
      el('dt', { text: 'ABI / compiler' }),
      el('dd', { text: `${m.abi} / ${m.compiler.name} ${m.compiler.version}` }),
      el('dt', { text: 'components' }),
      el('dd', { text: m.components.map((c) => `${c.name} (${c.kind})`).join(', ') }),
      el('dt', { text: 'outputs' }),
      el('dd', {
        text: m.outputs.map((o) => `${o.name}: ${o.type}${o.size > 1 ? `[${o.size}]` : ''}`).join(', '),
      }),
    ),
  );
}

function showResult(out, result) {
  const [r] = result.rows();
  if (r.rejected !== null) {
    out.replaceChildren(
      el('p', {
        id: 'rejection',
        class: 'rejected',
        text: `rejected ${r.rejected.code}: ${r.rejected.message}`,
      }),
    );
    return;
  }
  const table = el(
    'table',
    { id: 'outputs' },
    el('tr', {}, el('th', { text: 'output' }), el('th', { text: 'value' })),
  );
  for (const [name, v] of Object.entries(r.outputs))
    table.append(
      el('tr', {}, el('td', { text: name }), el('td', { 'data-output': name, text: formatValue(v) })),
    );
  out.replaceChildren(table);
}

function showError(out, e) {
  const code = e instanceof RuntimeError ? e.code : 'error';
  const message = e instanceof Error ? e.message : String(e);
  out.replaceChildren(el('p', { id: 'error', class: 'error', 'data-code': code, text: message }));
}

const readFile = (file) =>
  new Promise((ok, fail) => {
    const r = new FileReader();
    r.onload = () => ok(new Uint8Array(r.result));
    r.onerror = () => fail(r.error);
    r.readAsArrayBuffer(file);
  });

async function fetchBytes(url) {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${res.statusText}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** Wires the page (index.html): pickers, URL parameters, the form. */
function main() {
  const $ = (id) => document.getElementById(id);
  const status = $('status');
  const state = { model: null, store: new MemoryEntityStore(), buildRow: null };

  const use = async (bytesPromise, source) => {
    status.textContent = `loading ${source} …`;
    $('result').replaceChildren();
    try {
      const model = await Model.load(await bytesPromise);
      state.model = model;
      renderManifest(model, $('manifest'));
      const form = $('form');
      form.replaceChildren();
      state.buildRow = renderForm(model, form);
      const blocks = model.manifest.entityBlocks;
      status.textContent =
        `loaded ${source}` +
        (blocks.length > 0 && state.store.size(blocks[0].component) === 0
          ? ' (no entity blocks loaded: every entity is unknown and contributes zero)'
          : '');
      document.body.dataset['ready'] = 'true';
    } catch (e) {
      status.textContent = `cannot load ${source}`;
      showError($('result'), e);
    }
  };
  const useEntities = async (textPromise, source) => {
    try {
      state.store = entityStoreFromJson(JSON.parse(await textPromise));
      $('entities-status').textContent = `entity blocks from ${source}`;
    } catch (e) {
      $('entities-status').textContent = `cannot read entity blocks from ${source}`;
      showError($('result'), e);
    }
  };

  $('model-file').addEventListener('change', (ev) => {
    const f = ev.target.files?.[0];
    if (f !== undefined) void use(readFile(f), f.name);
  });
  $('entities-file').addEventListener('change', (ev) => {
    const f = ev.target.files?.[0];
    if (f !== undefined) void useEntities(f.text(), f.name);
  });
  $('model-url-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const url = $('model-url').value.trim();
    if (url !== '') void use(fetchBytes(url), url);
  });
  $('form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (state.model === null || state.buildRow === null) return;
    try {
      showResult($('result'), state.model.score([state.buildRow()], state.store));
    } catch (e) {
      showError($('result'), e);
    }
  });

  const params = new URLSearchParams(location.search);
  const entities = params.get('entities');
  const model = params.get('model');
  void (async () => {
    if (entities !== null)
      await useEntities(
        fetch(entities).then((r) => r.text()),
        entities,
      );
    if (model !== null) {
      $('model-url').value = model;
      await use(fetchBytes(model), model);
    } else status.textContent = 'choose a compiled model (.wasm)';
  })();
}

if (typeof document !== 'undefined' && document.getElementById('form') !== null) main();
