// Run by engine_lifetime.test.js with node --expose-gc: an engine made with the GPU object passed inline
// (nothing else holds it), garbage collection forced between calls. Before the engine held its GPU object,
// Dawn freed the instance under the device: the process aborted or hung within a few calls.
import { create, globals } from 'webgpu';
import { createEngine } from '../../web/src/lib/index.js';

Object.assign(globalThis, globals);
const args = () => ({
  query: new Float32Array(24).fill(0.1), key: new Float32Array(40).fill(0.2), value: new Float32Array(30).fill(0.3),
  heads: 2, nq: 3, nk: 5, dk: 4, dv: 3,
});
const engine = await createEngine({ backend: 'webgpu', gpu: create([]) });
const first = await engine.attention(args());
let onGpu = 0, equal = 0;
const CALLS = 30;
for (let i = 0; i < CALLS; i++) {
  globalThis.gc();
  await new Promise((resolve) => setTimeout(resolve, 0));
  globalThis.gc();
  const r = await engine.attention(args());
  if (r.backend === 'webgpu') onGpu++;
  if (r.output.every((x, j) => x === first.output[j])) equal++;
}
engine.dispose();
console.log(`calls ${CALLS} webgpu ${onGpu} equal ${equal}`);
