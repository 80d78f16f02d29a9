// run()'s `outputs` option: which of a model run's results to return (the rest are null), as bits shared by
// the WASM binding (wasm/bindings/model_bindings.cpp kOutput*) and the WebGPU encoder (gpu_encoder.js).

// The names and bits are spec.js's MODEL_OUTPUTS.
import { MODEL_OUTPUTS as OUTPUT_BITS, ALL_MODEL_OUTPUTS as ALL_OUTPUTS } from '../spec.js';

export { OUTPUT_BITS, ALL_OUTPUTS };

/** The bits of run()'s `outputs` option: undefined = all; else a non-empty array of OUTPUT_BITS names. */
export function outputBits(outputs, fn) {
  if (outputs === undefined) return ALL_OUTPUTS;
  const known = Object.keys(OUTPUT_BITS).join(', ');
  if (!Array.isArray(outputs) || outputs.length === 0) {
    throw new TypeError(`${fn}: outputs must be a non-empty array of names (${known}), got ${describe(outputs)}`);
  }
  let bits = 0;
  for (const name of outputs) {
    if (typeof name !== 'string' || !Object.hasOwn(OUTPUT_BITS, name)) {
      throw new RangeError(`${fn}: outputs: unknown output ${describe(name)} (known: ${known})`);
    }
    bits |= OUTPUT_BITS[name];
  }
  return bits;
}

function describe(value) {
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return value === null ? 'null' : typeof value;
}
