// The WGSL programs of the WebGPU backend: which .wgsl files make each one, and a loader that reads them
// as text in browsers (fetch, same origin; Vite rewrites the URLs when it builds) and in Node (fs), so
// the same code runs under Vite, Vitest and plain Node 20.

// Written out literally so that Vite can see and emit each file.
const FILES = {
  mask: new URL('./mask.wgsl', import.meta.url),
  matmul: new URL('./matmul.wgsl', import.meta.url),
  softmax: new URL('./softmax.wgsl', import.meta.url),
  additive_scores: new URL('./additive_scores.wgsl', import.meta.url),
  flash_attention: new URL('./flash_attention.wgsl', import.meta.url),
  layer_norm: new URL('./layer_norm.wgsl', import.meta.url),
  add: new URL('./add.wgsl', import.meta.url),
  mean_pool: new URL('./mean_pool.wgsl', import.meta.url),
};

// Uniform fields of every program, declared once here, by name, in struct order: the WGSL `struct Params`
// (padded to a multiple of 16 bytes) is generated from this list and prepended to the program's source, and
// Run.dispatch packs the values it is given by the same names (packUniforms). A .wgsl file never declares
// Params itself; a field missing, unknown or of the wrong type at a dispatch throws, naming the program.
const u32 = 'u32';
const f32 = 'f32';
// A strided operand (attention.js "views"): its offset, batch or head stride and row stride, in floats.
const view = (prefix, stride) => ({ [`${prefix}_offset`]: u32, [`${prefix}_${stride}`]: u32, [`${prefix}_row`]: u32 });

/**
 * Each program: its source files (concatenated; WGSL module-scope declarations may come in any order), its
 * bind group layout, one entry per binding after the uniform at 0: 'read' (read-only storage) or 'write'
 * (read_write storage), and its uniform fields { name: 'u32' | 'i32' | 'f32' } in struct order.
 */
export const PROGRAMS = {
  matmul: {
    files: ['matmul'], bindings: ['read', 'read', 'read', 'write'],
    uniforms: { M: u32, N: u32, K: u32, has_bias: u32, alpha: f32, ...view('a', 'batch'), ...view('b', 'batch'), ...view('c', 'batch') },
  },
  softmax: { files: ['mask', 'softmax'], bindings: ['read', 'write'], uniforms: { nq: u32, nk: u32, rows: u32, mask_kind: u32 } },
  additive_scores: { files: ['additive_scores'], bindings: ['read', 'read', 'read', 'write'], uniforms: { nq: u32, nk: u32, da: u32 } },
  flash_attention: {
    files: ['mask', 'flash_attention'], bindings: ['read', 'read', 'read', 'read', 'write'],
    uniforms: { nq: u32, nk: u32, dk: u32, dv: u32, mask_kind: u32, scale: f32, ...view('q', 'head'), ...view('k', 'head'), ...view('v', 'head'), ...view('o', 'head') },
  },
  layer_norm: { files: ['layer_norm'], bindings: ['read', 'read', 'read', 'write'], uniforms: { rows: u32, d: u32, eps: f32 } },
  // the model's forward pass on the GPU (model/gpu_encoder.js): residual adds and mean pooling
  add: { files: ['add'], bindings: ['read', 'write'], uniforms: { n: u32 } },
  mean_pool: { files: ['mean_pool'], bindings: ['read', 'write'], uniforms: { rows: u32, d: u32 } },
};

const SCALARS = new Set(['u32', 'i32', 'f32']);

/** The WGSL struct of a program's uniforms: the declared fields in order, then _pad fields to 16 bytes. */
export function uniformStruct(program) {
  const fields = Object.entries(PROGRAMS[program].uniforms);
  for (const [name, type] of fields) {
    if (!SCALARS.has(type)) throw new Error(`WebGPU: program ${program}: uniform ${name} has type ${type}; u32, i32 or f32`);
  }
  const pads = (4 - (fields.length % 4)) % 4;
  const lines = [...fields.map(([name, type]) => `${name}: ${type}`), ...Array.from({ length: pads }, (_, i) => `_pad${i}: u32`)];
  return `struct Params {\n  ${lines.join(',\n  ')},\n}\n`;
}

/** Bytes of a program's uniform buffer: 4 per field, rounded up to 16. */
export function uniformBytes(program) {
  return Math.ceil(Object.keys(PROGRAMS[program].uniforms).length / 4) * 16;
}

/**
 * Packs `values` ({ name: number }) into the program's uniform buffer bytes, in the declared order. Throws an
 * Error naming the program and field when one is missing, unknown or not representable in its type.
 */
export function packUniforms(program, values) {
  const declared = PROGRAMS[program].uniforms;
  for (const name of Object.keys(values)) {
    if (!Object.hasOwn(declared, name)) {
      throw new Error(`WebGPU: program ${program} has no uniform '${name}' (declared: ${Object.keys(declared).join(', ')})`);
    }
  }
  const data = new ArrayBuffer(uniformBytes(program));
  const view = new DataView(data);
  Object.entries(declared).forEach(([name, type], n) => {
    const value = values[name];
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new Error(`WebGPU: program ${program}: uniform '${name}' (${type}) is ${value === undefined ? 'missing' : String(value)}`);
    }
    if (type === 'f32') {
      view.setFloat32(4 * n, value, true);
    } else {
      const [min, max] = type === 'u32' ? [0, 2 ** 32 - 1] : [-(2 ** 31), 2 ** 31 - 1];
      if (!Number.isInteger(value) || value < min || value > max) {
        throw new Error(`WebGPU: program ${program}: uniform '${name}' (${type}) cannot hold ${value}`);
      }
      if (type === 'u32') view.setUint32(4 * n, value, true);
      else view.setInt32(4 * n, value, true);
    }
  });
  return data;
}

const texts = new Map();

async function readText(url) {
  if (url.protocol === 'file:') {
    const name = 'node:fs/promises';
    const fs = await import(/* @vite-ignore */ name);
    return fs.readFile(url, 'utf8');
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`WebGPU: could not load shader ${url.href}: HTTP ${response.status}`);
  return response.text();
}

/**
 * The WGSL source of a program (files cached): its generated `struct Params` and the binding of it at
 * @group(0) @binding(0), then its files, which must not declare Params themselves.
 */
export async function programSource(program) {
  const { files } = PROGRAMS[program];
  const parts = await Promise.all(files.map((file) => {
    if (!texts.has(file)) texts.set(file, readText(FILES[file]));
    return texts.get(file);
  }));
  parts.forEach((text, n) => {
    if (/\bstruct\s+Params\b|var<uniform>/.test(text)) {
      throw new Error(`WebGPU: ${files[n]}.wgsl declares its own uniforms; program ${program}'s are generated ` +
        'from PROGRAMS in shaders.js');
    }
  });
  return [uniformStruct(program), '@group(0) @binding(0) var<uniform> p: Params;\n', ...parts].join('\n');
}
