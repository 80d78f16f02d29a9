// node scripts/bench/cpu-kernels.mjs [--browser] [--d 16,64,128,256] [--n 1024] [--heads 1] [--weights]
//                                   [--rounds 5] [--variants 0,1] [--builds simd,relaxed] [--gemm] [--m 16,128]
//                                   [--no-peak] [--library]
// The one-thread kernels of the SIMD build straight on the WASM heap (web/bench/kernels.js): the f32x4 peak
// (web/bench/peak.js) before and after, scaled-dot attention for every H x N x d asked (into preallocated
// buffers; --weights also returns them), and with --gemm the model's packed gemm on the encoder's shapes.
// Every listed variant (attn/tuning.h, docs/CPU.md; -1 = leave the setting alone) runs interleaved in the same
// rounds, and so does every listed build: simd (attn_simd), relaxed (attn_simd_relaxed: relaxed SIMD's
// multiply-add; Chromium has it, Node 20 only as node --experimental-wasm-relaxed-simd). --browser runs the
// same in headless Chromium (its V8 is not Node's: the figures differ). --library adds the library's
// engine.attention() (createEngine({ threads: 1 }): the build it picks) into reused result arrays on the same
// inputs: the JS path's cost (validation, copies) against the kernel alone.
// Prints "% of peak" against the higher of the two peaks. Figures only; nothing asserted.
import { readFileSync, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { resolve, extname, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(import.meta.url), '../../..');
const args = process.argv.slice(2);
const value = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
const list = (name, fallback) => value(name, fallback).split(',').map(Number);
// The module files of each build (web/src/lib/wasm/<name>.{mjs,wasm}).
const GLUE = { simd: 'attn_simd', relaxed: 'attn_simd_relaxed' };
const opts = {
  glue: GLUE,
  ds: list('--d', '64'), ns: list('--n', '1024'), headCounts: list('--heads', '1'), weights: args.includes('--weights'),
  rounds: Number(value('--rounds', 5)), variants: list('--variants', '-1'), gemm: args.includes('--gemm'), ms: list('--m', '16,128'),
  peak: !args.includes('--no-peak'), library: args.includes('--library'), builds: value('--builds', 'simd').split(','),
};
for (const b of opts.builds) {
  if (!GLUE[b]) throw new Error(`--builds: unknown build '${b}' (known: ${Object.keys(GLUE).join(', ')})`);
}

// Runs in Node or in the page: the peak, the kernels, the peak again.
async function measure(o, base) {
  const { measurePeak } = await import(`${base}/web/bench/peak.js`);
  const { runKernels } = await import(`${base}/web/bench/kernels.js`);
  const modules = [];
  for (const name of o.builds) {
    const file = o.glue[name];
    const glue = await import(`${base}/web/src/lib/wasm/${file}.mjs`);
    const wasmBinary = o.wasmBinaries?.[name] ??
      new Uint8Array(await (await fetch(`${base}/web/src/lib/wasm/${file}.wasm`)).arrayBuffer());
    modules.push({ name, module: await glue.default({ wasmBinary }) });
  }
  let engine = null;
  if (o.library) {
    const { createEngine } = await import(`${base}/web/src/lib/index.js`);
    engine = await createEngine({ backend: 'wasm', threads: 1 });
  }
  const peaks = [];
  if (o.peak) peaks.push((await measurePeak({ repeats: 5 })).gflops);
  const rows = await runKernels(modules, { ...o, engine, log: () => {} });
  if (o.peak) peaks.push((await measurePeak({ repeats: 5 })).gflops);
  return { peaks, rows, library: engine && (engine.relaxedSimd ? 'relaxed' : engine.simd ? 'simd' : 'scalar') };
}

let result;
if (args.includes('--browser')) {
  const { chromium } = await import('@playwright/test');
  const types = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };
  const server = createServer((req, res) => {
    const file = resolve(root, decodeURIComponent((req.url ?? '/').split('?')[0]).slice(1));
    if (!file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.statusCode = 404;
      return res.end('not found');
    }
    res.setHeader('Content-Type', types[extname(file)] ?? 'application/octet-stream');
    res.end(readFileSync(file));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${server.address().port}`;
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage();
    await page.goto(`${base}/`);  // any page of the origin: the modules are imported from it
    result = await page.evaluate(`(${measure.toString()})(${JSON.stringify(opts)}, ${JSON.stringify(base)})`);
    console.log(`Chromium ${browser.version()}`);
  } finally {
    await browser.close();
    server.close();
  }
} else {
  if (opts.builds.includes('relaxed')) {
    const { relaxedSimdSupported } = await import('../../web/src/lib/backends/wasm.js');
    if (!relaxedSimdSupported()) throw new Error('--builds relaxed: this Node has no relaxed SIMD; run node --experimental-wasm-relaxed-simd, or --browser');
  }
  const wasmBinaries = Object.fromEntries(opts.builds.map((b) => [b, readFileSync(resolve(root, `web/src/lib/wasm/${GLUE[b]}.wasm`))]));
  const o = { ...opts, wasmBinaries };
  result = await measure(o, '../..');
  console.log(`Node ${process.versions.node}`);
}
const peak = result.peaks.length ? Math.max(...result.peaks) : null;
if (result.library) console.log(`library: engine.attention() into reused result arrays, the ${result.library} build`);
if (peak) console.log(`peak ${result.peaks.map((p) => p.toFixed(1)).join(' -> ')} GFLOP/s (start -> end)`);
for (const r of result.rows) {
  const pct = peak ? ` ${((100 * r.gflops) / peak).toFixed(0)}%` : '';
  const what = r.kind === 'gemmPacked' ? `gemmPacked M${r.m} K${r.k} N${r.n}` : `${r.kind} H${r.heads} N${r.n} d${r.d}`;
  const t = r.kind === 'gemmPacked' ? `${(r.ms * 1000).toFixed(1)} us` : `${r.ms.toFixed(2)} ms`;
  const build = opts.builds.length > 1 || opts.library ? ` ${r.build}` : '';
  console.log(`${what}${build} variant ${r.variant}: ${t} ${r.gflops.toFixed(1)} GFLOP/s${pct}`);
}
if (args.includes('--json')) console.log(JSON.stringify({ peaks: result.peaks, rows: result.rows }));
