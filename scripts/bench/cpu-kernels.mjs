// node scripts/bench/cpu-kernels.mjs [--browser | --firefox | --webkit] [--d 16,64,128,256] [--n 1024] [--heads 1] [--weights]
//                                   [--rounds 5] [--variants 0,1] [--builds simd,relaxed] [--gemm] [--m 16,128]
//                                   [--no-peak] [--library] [--threads 2]
// The kernels of the SIMD builds straight on the WASM heap (web/bench/kernels.js): the f32x4 peak
// (web/bench/peak.js) before and after, scaled-dot attention for every H x N x d asked (into preallocated
// buffers; --weights also returns them), and with --gemm the model's packed gemm on the encoder's shapes.
// Every listed variant (attn/tuning.h, docs/CPU.md; -1 = leave the setting alone) runs interleaved in the same
// rounds, and so does every listed build: simd (attn_simd), relaxed (attn_simd_relaxed: relaxed SIMD's
// multiply-add; Chromium has it, Node 20 only as node --experimental-wasm-relaxed-simd), and with --browser the
// threaded ones on --threads threads (default 2; the page is cross-origin isolated): mt (attn_simd_mt),
// mt-relaxed (attn_simd_mt_relaxed). --browser runs the same in headless Chromium (its V8 is not Node's: the
// figures differ); --firefox and --webkit in headless Firefox ESR (SpiderMonkey) and WebKitGTK's MiniBrowser (JavaScriptCore), which
// tests/browsers/drivers.js launches. --library adds the library's engine.attention() (createEngine({ threads: 1 }): the build it
// picks) into reused result arrays on the same inputs, and the same on heap arrays (engine.heapArray, build
// library-heap): the JS path's cost (validation, copies) against the kernel alone. With several builds, each shape also prints the first build's time over each other's per round (the
// two sampled back to back). Prints "% of peak" against the higher of the two peaks (the peak is one thread's), and
// "beside": the median over rounds of each sample's GFLOP/s over a ~10 ms peak probe run right before it.
// Figures only; nothing asserted.
import { readFileSync, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { resolve, extname, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from '../../web/bench/inputs.js';

const root = resolve(fileURLToPath(import.meta.url), '../../..');
const args = process.argv.slice(2);
const inBrowser = ['--browser', '--firefox', '--webkit'].some((a) => args.includes(a));
const value = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
const list = (name, fallback) => value(name, fallback).split(',').map(Number);
// The module files of each build (web/src/lib/wasm/<name>.{mjs,wasm}).
const GLUE = { simd: 'attn_simd', relaxed: 'attn_simd_relaxed', mt: 'attn_simd_mt', 'mt-relaxed': 'attn_simd_mt_relaxed' };
const THREADED = ['mt', 'mt-relaxed'];
const opts = {
  glue: GLUE, threaded: THREADED, threads: Number(value('--threads', 2)),
  ds: list('--d', '64'), ns: list('--n', '1024'), headCounts: list('--heads', '1'), weights: args.includes('--weights'),
  rounds: Number(value('--rounds', 5)), variants: list('--variants', '-1'), gemm: args.includes('--gemm'), ms: list('--m', '16,128'),
  peak: !args.includes('--no-peak'), library: args.includes('--library'), builds: value('--builds', 'simd').split(','),
};
for (const b of opts.builds) {
  if (!GLUE[b]) throw new Error(`--builds: unknown build '${b}' (known: ${Object.keys(GLUE).join(', ')})`);
  if (THREADED.includes(b) && !inBrowser) throw new Error(`--builds ${b}: the threaded builds run with --browser only`);
}
if (!Number.isInteger(opts.threads) || opts.threads < 2 || opts.threads > 16) {
  throw new Error(`--threads: an integer from 2 to 16, got ${value('--threads')}`);
}

// Runs in Node or in the page: the peak, the kernels, the peak again.
async function measure(o, base) {
  const { measurePeak, peakProbe } = await import(`${base}/web/bench/peak.js`);
  const { runKernels } = await import(`${base}/web/bench/kernels.js`);
  const modules = [];
  for (const name of o.builds) {
    const file = `${base}/web/src/lib/wasm/${o.glue[name]}`;
    const glue = await import(`${file}.mjs`);
    const wasmBinary = o.wasmBinaries?.[name] ?? new Uint8Array(await (await fetch(`${file}.wasm`)).arrayBuffer());
    if (!o.threaded.includes(name)) {
      modules.push({ name, module: await glue.default({ wasmBinary }) });
      continue;
    }
    // As web/src/lib/backends/wasm.js instantiateThreaded: the pool's workers start before the module resolves.
    if (globalThis.crossOriginIsolated !== true) throw new Error(`${name}: the page is not cross-origin isolated`);
    const module = await glue.default({ wasmBinary, attnPoolSize: o.threads - 1, mainScriptUrlOrBlob: `${file}.mjs`,
      locateFile: (f) => (f.endsWith('.worker.js') ? `${file}.worker.js` : f) });
    module.setThreads(o.threads);
    if (module.threads() !== o.threads) throw new Error(`${name}: ${module.threads()} threads run, ${o.threads} asked`);
    modules.push({ name, module });
  }
  let engine = null;
  if (o.library) {
    const { createEngine } = await import(`${base}/web/src/lib/index.js`);
    engine = await createEngine({ backend: 'wasm', threads: 1 });
  }
  const peaks = [];
  let probe = null;
  if (o.peak) {
    const start = await measurePeak({ repeats: 5 });
    peaks.push(start.gflops);
    probe = await peakProbe({ ...start.best, targetMs: 10 });
  }
  const rows = await runKernels(modules, { ...o, engine, probe, log: () => {} });
  if (o.peak) peaks.push((await measurePeak({ repeats: 5 })).gflops);
  return { peaks, rows, library: engine && (engine.relaxedSimd ? 'relaxed' : engine.simd ? 'simd' : 'scalar') };
}

// The browser as tests/browsers/drivers.js's launchers give it: { name, version, goto, evaluate(fn, ...args), close }.
async function launchChromium() {
  const { chromium } = await import('@playwright/test');
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
  const page = await browser.newPage();
  return {
    name: 'chromium', version: browser.version(), goto: (url) => page.goto(url), close: () => browser.close(),
    evaluate: (fn, ...fnArgs) => page.evaluate(`(${fn})(...${JSON.stringify(fnArgs)})`),
  };
}

async function launchOther() {
  const drivers = await import('../../tests/browsers/drivers.js');
  return args.includes('--webkit') ? drivers.launchWebKit() : drivers.launchFirefox();
}

let result;
if (inBrowser) {
  const types = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };
  const server = createServer((req, res) => {
    const file = resolve(root, decodeURIComponent((req.url ?? '/').split('?')[0]).slice(1));
    // Cross-origin isolated (SharedArrayBuffer for the threaded builds): every response, the page's included.
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    if (!file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.statusCode = 404;
      return res.end('not found');
    }
    res.setHeader('Content-Type', types[extname(file)] ?? 'application/octet-stream');
    res.end(readFileSync(file));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${server.address().port}`;
  const browser = args.includes('--firefox') || args.includes('--webkit') ? await launchOther() : await launchChromium();
  try {
    await browser.goto(`${base}/`);  // any page of the origin: the modules are imported from it
    result = await browser.evaluate(measure, opts, base);
    console.log(`${browser.name} ${browser.version}`);
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
if (result.library) {
  console.log(`library: engine.attention() into reused result arrays, and library-heap: on heap arrays (engine.heapArray), the ${result.library} build`);
}
if (peak) console.log(`peak ${result.peaks.map((p) => p.toFixed(1)).join(' -> ')} GFLOP/s (start -> end)`);
const shapeOf = (r) => (r.kind === 'gemmPacked' ? `gemmPacked M${r.m} K${r.k} N${r.n}` : `${r.kind} H${r.heads} N${r.n} d${r.d}`);
for (const r of result.rows) {
  const pct = peak ? ` ${((100 * r.gflops) / peak).toFixed(0)}%, beside ${r.beside.toFixed(0)}% (median)` : '';
  const what = shapeOf(r);
  const t = r.kind === 'gemmPacked' ? `${(r.ms * 1000).toFixed(1)} us` : `${r.ms.toFixed(2)} ms`;
  const build = opts.builds.length > 1 || opts.library ? ` ${r.build}` : '';
  console.log(`${what}${build} variant ${r.variant}: ${t} ${r.gflops.toFixed(1)} GFLOP/s${pct}`);
}
// Per round, the first build's time over each other build's (same shape and variant), and their median.
for (const first of result.rows.filter((r) => opts.builds.length > 1 && r.build === opts.builds[0])) {
  for (const other of result.rows.filter((r) => r.build !== first.build && shapeOf(r) === shapeOf(first) && r.variant === first.variant)) {
    const ratios = first.samples.map((t, i) => t / other.samples[i]);
    console.log(`${shapeOf(first)} variant ${first.variant}: ${first.build} / ${other.build} per round ` +
      `${ratios.map((x) => x.toFixed(2)).join(' ')}, median ${median(ratios).toFixed(2)}`);
  }
}
if (args.includes('--json')) console.log(JSON.stringify({ peaks: result.peaks, rows: result.rows }));
