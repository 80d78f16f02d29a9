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

/**
 * Each program: its source files (concatenated; WGSL module-scope declarations may come in any order)
 * and its bind group layout, one entry per binding: 'uniform', 'read' (read-only storage) or 'write'
 * (read_write storage).
 */
export const PROGRAMS = {
  matmul: { files: ['matmul'], bindings: ['uniform', 'read', 'read', 'read', 'write'] },
  softmax: { files: ['mask', 'softmax'], bindings: ['uniform', 'read', 'write'] },
  additive_scores: { files: ['additive_scores'], bindings: ['uniform', 'read', 'read', 'read', 'write'] },
  flash_attention: { files: ['mask', 'flash_attention'], bindings: ['uniform', 'read', 'read', 'read', 'read', 'write'] },
  layer_norm: { files: ['layer_norm'], bindings: ['uniform', 'read', 'read', 'read', 'write'] },
  // the model's forward pass on the GPU (model/gpu_encoder.js): residual adds and mean pooling
  add: { files: ['add'], bindings: ['uniform', 'read', 'write'] },
  mean_pool: { files: ['mean_pool'], bindings: ['uniform', 'read', 'write'] },
};

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

/** The WGSL source of a program (cached per file). */
export async function programSource(program) {
  const parts = await Promise.all(PROGRAMS[program].files.map((file) => {
    if (!texts.has(file)) texts.set(file, readText(FILES[file]));
    return texts.get(file);
  }));
  return parts.join('\n');
}
