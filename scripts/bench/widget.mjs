// npm run bench, second part (scripts/bench.sh): the widget's budget (issue 5), measured on the static
// build a blogger would host. Builds dist/ (npx vite build) when it is missing or older than the sources,
// serves it with a small static server (cross-origin isolated, as the sample pages are), and loads
// dist/examples/blog-post.html in headless Chromium, cold (a fresh browser context, so no HTTP cache),
// several times:
//   - bytes: every JS and wasm file the page fetched before its first heatmap, gzipped here (level 6, what
//     static servers use by default), without the model file; and the same for all of dist/'s widget files
//   - first heatmap: ms from navigation start to the first widget's 'attention-computed' event (the
//     compact float16 model loaded, tokenized, run and drawn)
// Prints a table; writes bench/widget.json and appends the table to bench/table.txt.
// Options: --runs N (5), --no-build. Figures only: nothing here asserts a time.
import { chromium } from '@playwright/test';
import { createServer } from 'node:http';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync, appendFileSync, mkdirSync } from 'node:fs';
import { resolve, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import os from 'node:os';

const root = resolve(fileURLToPath(import.meta.url), '../../..');
const dist = join(root, 'dist');
const args = process.argv.slice(2);
const value = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
const runs = Number(value('--runs', 5));
const BUDGET_KB = 300;
const BUDGET_MS = 1500;
const TYPES = {
  '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css',
  '.wasm': 'application/wasm', '.wgsl': 'text/plain', '.json': 'application/json',
};

function files(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]);
}

function newestSource() {
  const dirs = ['web/src', 'web/examples', 'web/public'].map((d) => join(root, d)).filter(existsSync);
  return Math.max(...dirs.flatMap(files).map((f) => statSync(f).mtimeMs), statSync(join(root, 'vite.config.js')).mtimeMs);
}

function buildIfNeeded() {
  const built = join(dist, 'attention-view.js');
  if (args.includes('--no-build') && existsSync(built)) return;
  if (existsSync(built) && statSync(built).mtimeMs >= newestSource()) return;
  console.log('bench widget: building dist/ (npx vite build)');
  execFileSync('npx', ['vite', 'build', '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
}

function serve() {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const file = resolve(dist, `.${path.endsWith('/') ? `${path}index.html` : path}`);
    if (!file.startsWith(dist + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, {
      'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cache-Control': 'no-store',
    });
    res.end(readFileSync(file));
  });
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done(server)));
}

const gzipped = (file) => gzipSync(readFileSync(file), { level: 6 }).length;
const isCode = (file) => ['.js', '.mjs', '.wasm'].includes(extname(file));
const kb = (bytes) => (bytes / 1024).toFixed(1);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function measure(browser, base) {
  const context = await browser.newContext({ viewport: { width: 800, height: 900 } });
  const page = await context.newPage();
  const fetched = new Set();
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.origin === base) fetched.add(url.pathname);
  });
  await page.addInitScript(() => {
    const define = customElements.define.bind(customElements);
    customElements.define = (...a) => { window.__defined = performance.now(); return define(...a); };
    window.__firstHeatmap = new Promise((done) => {
      document.addEventListener('attention-computed', (e) => {
        if (e.target.id === 'first') done(performance.now());
      });
    });
  });
  await page.goto(`${base}/examples/blog-post.html`);
  const ms = await page.evaluate(() => window.__firstHeatmap);
  const shown = await page.evaluate(() => document.getElementById('first').result?.shown?.matrix?.length ?? 0);
  // Where the time went: the element defined, then the worker's own timings (engineReadyMs, modelWaitMs,
  // modelRunMs, ...) and the round trip of the request that drew the first heatmap.
  const timings = await page.evaluate(() => document.getElementById('first').result?.timings ?? {});
  const definedMs = await page.evaluate(() => window.__defined);
  const loadedCode = [...fetched].map((p) => join(dist, p)).filter((f) => existsSync(f) && isCode(f));
  await context.close();
  return { ms, shown, loadedCode, definedMs, timings };
}

buildIfNeeded();
const server = await serve();
const base = `http://127.0.0.1:${server.address().port}`;
const load = os.loadavg();
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--disable-quic', '--no-first-run'],
});
const browserVersion = browser.version();
const samples = [];
const details = [];
let loadedCode = [];
try {
  for (let i = 0; i < runs; i++) {
    const r = await measure(browser, base);
    if (!(r.shown > 0)) throw new Error('the first widget computed but showed no matrix');
    samples.push(r.ms);
    details.push({ firstHeatmapMs: r.ms, elementDefinedMs: r.definedMs, ...r.timings });
    loadedCode = r.loadedCode;
  }
} finally {
  await browser.close();
  server.close();
}

const loaded = loadedCode.map((f) => ({ file: relative(dist, f), bytes: statSync(f).size, gzip: gzipped(f) }))
  .sort((a, b) => b.gzip - a.gzip);
const loadedGzip = loaded.reduce((s, f) => s + f.gzip, 0);
const widgetFiles = files(dist).filter((f) => isCode(f) && !relative(dist, f).startsWith(`main`) &&
  !/\/(main|modulepreload-polyfill)-/.test(f));
const allGzip = widgetFiles.reduce((s, f) => s + gzipped(f), 0);
const model = join(dist, 'models/use-lite.f16.safetensors');
const chromiumVersion = browserVersion;
const result = {
  date: new Date().toISOString(),
  machine: `${os.cpus()[0]?.model ?? 'cpu'}, ${os.cpus().length} cores`,
  loadAverageBefore: load, loadAverageAfter: os.loadavg(), chromium: chromiumVersion,
  firstHeatmapMs: { median: median(samples), min: Math.min(...samples), max: Math.max(...samples), samples },
  runs: details,
  loadedBeforeFirstHeatmap: { gzipBytes: loadedGzip, files: loaded },
  allWidgetCodeGzipBytes: allGzip,
  modelBytes: existsSync(model) ? statSync(model).size : null,
  budget: { gzipKB: BUDGET_KB, firstHeatmapMs: BUDGET_MS },
};

const lines = [
  '',
  `widget budget (issue 5): dist/examples/blog-post.html from a static server, cold, ${runs} loads; load average ${load.map((x) => x.toFixed(2)).join(' ')}`,
  `JS + wasm the page fetched before its first heatmap, gzip -6: ${kb(loadedGzip)} KB (budget ${BUDGET_KB} KB): ` +
    loaded.map((f) => `${f.file} ${kb(f.gzip)}`).join(', '),
  `all widget JS + wasm in dist/ (both wasm builds, WebGPU code, workers), gzip -6: ${kb(allGzip)} KB`,
  `model file fetched lazily: ${result.modelBytes === null ? '-' : `${(result.modelBytes / 2 ** 20).toFixed(1)} MiB`} (float16)`,
  `first heatmap (navigation start -> 'attention-computed'): median ${result.firstHeatmapMs.median.toFixed(0)} ms ` +
    `[${result.firstHeatmapMs.min.toFixed(0)}-${result.firstHeatmapMs.max.toFixed(0)}] (budget ${BUDGET_MS} ms)`,
];
console.log(lines.join('\n'));
mkdirSync(join(root, 'bench'), { recursive: true });
writeFileSync(join(root, 'bench/widget.json'), `${JSON.stringify(result, null, 2)}\n`);
appendFileSync(join(root, 'bench/table.txt'), `${lines.join('\n')}\n`);
