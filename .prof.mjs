import { create } from 'webgpu';
import { createWebGPUBackend } from './web/src/lib/webgpu/backend.js';
import { withRun } from './web/src/lib/webgpu/runtime.js';
import { encodeMatmul, SOFTMAX_WG } from './web/src/lib/webgpu/attention.js';
const gpu = create([]);
const b = await createWebGPUBackend({ gpu });
const rt = b.runtime;
const rnd = (len) => Float32Array.from({ length: len }, () => Math.random() * 2 - 1);
const n = +process.argv[2] || 1024, d = 64;
const c = (buffer, r, cc) => ({ buffer, offset: 0, head: r * cc, row: cc });
async function time(label, f) { const t = performance.now(); await withRun(rt, 'attention', f); console.log(label, (performance.now() - t).toFixed(0), 'ms'); }
await time('QK^T', (run) => { const q = run.upload('q', rnd(n * d)), k = run.upload('k', rnd(n * d)), s = run.scratch('s', n * n);
  encodeMatmul(run, 'x', { a: c(q, n, d), b: c(k, n, d), c: c(s, n, n), M: n, N: n, K: d, transB: true }); });
await time('PV', (run) => { const p = run.upload('p', rnd(n * n)), v = run.upload('v', rnd(n * d)), o = run.scratch('o', n * d);
  encodeMatmul(run, 'x', { a: c(p, n, n), b: c(v, n, d), c: c(o, n, d), M: n, N: d, K: n }); });
await time('softmax', (run) => { const s = run.scratch('s', n * n);
  run.dispatch('softmax', { WG: SOFTMAX_WG }, 'softmax', [[n, 'u'], [n, 'u'], [n, 'u'], [0, 'u']], [run.none(), s], [n, 1, 1]); });
process.exit(0);
