// npm run bench, second part (scripts/bench.sh): the widget's budget (issue 5), measured on the static
// build a blogger would host. Builds dist/ (npx vite build) when it is missing or older than the sources,
// serves it with a small static server (cross-origin isolated, as the sample pages are), and loads
// dist/examples/blog-post.html in headless Chromium, cold (a new browser with a fresh profile, so no HTTP
// cache), several times. No automation is attached: a debugger's network instrumentation copies every response
// body for its own use (seen in a trace: 357 ms on the page's main thread at the end of the 13.5 MiB model
// download), a cost a reader never pays. Instead the server adds one inline script to the post that reports
// the figures back to it (POST /__bench-report), and records which files the page fetched. Each load is
// followed by the same load driven by Playwright, for comparison with the figures measured that way before.
//   - bytes: every JS and wasm file the page fetched before its first heatmap, gzipped here (level 6, what
//     static servers use by default), without the model file; and the same for all of dist/'s widget files
//   - first heatmap: ms from navigation start to the first widget's 'attention-computed' event (the
//     compact float16 model loaded, tokenized, run and drawn)
// Prints a table; writes bench/widget.json and appends the table to bench/table.txt.
// Options: --runs N (7), --no-build. Figures only: nothing here asserts a time.
import { chromium } from '@playwright/test';
import { createServer } from 'node:http';
import { execFileSync, spawn } from 'node:child_process';
import {
  existsSync, readFileSync, readdirSync, statSync, writeFileSync, appendFileSync, mkdirSync, mkdtempSync, rmSync,
} from 'node:fs';
import { resolve, extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import os from 'node:os';

const root = resolve(fileURLToPath(import.meta.url), '../../..');
const dist = join(root, 'dist/site');  // the site build (vite build): the sample post and its widget
const args = process.argv.slice(2);
const value = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
};
const runs = Number(value('--runs', 7));
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
  const built = join(dist, 'examples/blog-post.html');
  if (args.includes('--no-build') && existsSync(built)) return;
  if (existsSync(built) && statSync(built).mtimeMs >= newestSource()) return;
  console.log('bench widget: building dist/site/ (npx vite build)');
  execFileSync('npx', ['vite', 'build', '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
}

// The server keeps each file in memory once read, as a static server serves from the page cache: reading a
// 13.5 MiB file into a fresh buffer on every request would add the server's own cost to the page's.
const cache = new Map();
function readCached(file) {
  if (!cache.has(file)) cache.set(file, readFileSync(file));
  return cache.get(file);
}

// Added to the post, before its widget script: waits for the first widget's 'attention-computed' event and
// posts the time (ms since navigation start), what it showed, and the worker's own timings.
const REPORT_SCRIPT = `<script>
customElements.whenDefined('attention-view').then(() => { window.__definedMs = performance.now(); });
document.addEventListener('attention-computed', (event) => {
  if (event.target.id !== 'first' || window.__reported) return;
  window.__reported = true;
  const ms = performance.now();
  const result = event.target.result;
  fetch('/__bench-report', { method: 'POST', body: JSON.stringify({ ms, definedMs: window.__definedMs,
    shown: result?.shown?.matrix?.length ?? 0, timings: result?.timings ?? {} }) });
});
</script>`;

let onReport = null;
let fetched = new Set();

function serve() {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    if (path === '/__bench-report' && req.method === 'POST') {
      let body = '';
      req.on('data', (chunk) => { body += chunk; });
      req.on('end', () => {
        res.writeHead(204).end();
        onReport?.(JSON.parse(body));
      });
      return;
    }
    if (path === '/__bench-start') {  // the browser's first page: a second to settle, then the post, as a link would
      res.writeHead(200, { 'Content-Type': 'text/html', 'Cache-Control': 'no-store' });
      res.end('<!doctype html><title>start</title><script>setTimeout(() => { location.href = "/examples/blog-post.html"; }, 1000);</script>');
      return;
    }
    const file = resolve(dist, `.${path.endsWith('/') ? `${path}index.html` : path}`);
    if (!file.startsWith(dist + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    fetched.add(file);
    res.writeHead(200, {
      'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cache-Control': 'no-store',
    });
    const body = readCached(file);
    res.end(path === '/examples/blog-post.html' ? body.toString().replace('<head>', `<head>${REPORT_SCRIPT}`) : body);
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

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** Runs `load` (which opens the post), waits for the page's report, then runs `close` whatever happened. */
async function reportOf(load, close) {
  fetched = new Set();
  const reported = new Promise((done) => { onReport = done; });
  let timer;
  const timeout = new Promise((_, fail) => {
    timer = setTimeout(() => fail(new Error('bench widget: no report from the page within 60 s')), 60_000);
  });
  try {
    await load();
    const report = await Promise.race([reported, timeout]);
    return { ...report, loadedCode: [...fetched].filter(isCode) };
  } finally {
    clearTimeout(timer);
    onReport = null;
    await close();
  }
}

/**
 * One cold load as a reader has it: a new headless Chromium with a fresh profile opens a start page, which after
 * a second (the browser's own start-up done) navigates to the post, as a click would; killed once it reported.
 */
function measure(base) {
  const profile = mkdtempSync(join(os.tmpdir(), 'attn-bench-profile-'));
  let browser;
  return reportOf(async () => {
    browser = spawn(CHROMIUM, ['--headless', '--no-sandbox', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run', '--no-default-browser-check',
      '--window-size=800,900', `--user-data-dir=${profile}`, `${base}/__bench-start`],
    { stdio: 'ignore', detached: true });
  }, async () => {
    try { process.kill(-browser.pid, 'SIGKILL'); } catch { /* already gone */ }
    await new Promise((done) => (browser.exitCode !== null ? done() : browser.once('exit', done)));
    rmSync(profile, { recursive: true, force: true });
  });
}

/** The same load driven by Playwright (a fresh context of one browser), as the tests drive pages: for comparison. */
async function measureDriven(browser, base) {
  const context = await browser.newContext({ viewport: { width: 800, height: 900 } });
  return reportOf(() => context.newPage().then((page) => page.goto(`${base}/examples/blog-post.html`)),
    () => context.close());
}

buildIfNeeded();
const server = await serve();
const base = `http://127.0.0.1:${server.address().port}`;
const load = os.loadavg();
const browserVersion = execFileSync(CHROMIUM, ['--version'], { encoding: 'utf8' }).trim();
const driver = await chromium.launch({ executablePath: CHROMIUM, headless: true,
  args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--disable-quic', '--no-first-run'] });
const samples = [];
const drivenSamples = [];
const details = [];
let loadedCode = [];
try {
  for (let i = 0; i < runs; i++) {  // interleaved: a load as a reader has it, then one driven by Playwright
    const r = await measure(base);
    const driven = await measureDriven(driver, base);
    for (const x of [r, driven]) if (!(x.shown > 0)) throw new Error('the first widget computed but showed no matrix');
    samples.push(r.ms);
    drivenSamples.push(driven.ms);
    details.push({ firstHeatmapMs: r.ms, elementDefinedMs: r.definedMs, ...r.timings, drivenFirstHeatmapMs: driven.ms });
    loadedCode = r.loadedCode;
  }
} finally {
  await driver.close();
  server.close();
}

const loaded = loadedCode.map((f) => ({ file: relative(dist, f), bytes: statSync(f).size, gzip: gzipped(f) }))
  .sort((a, b) => b.gzip - a.gzip);
const loadedGzip = loaded.reduce((s, f) => s + f.gzip, 0);
const widgetFiles = files(dist).filter((f) => isCode(f) && !relative(dist, f).startsWith(`main`) &&
  !/\/(main|modulepreload-polyfill)-/.test(f));
const allGzip = widgetFiles.reduce((s, f) => s + gzipped(f), 0);
const model = join(dist, 'models/use-lite.i8.safetensors');
const chromiumVersion = browserVersion;
const result = {
  date: new Date().toISOString(),
  machine: `${os.cpus()[0]?.model ?? 'cpu'}, ${os.cpus().length} cores`,
  loadAverageBefore: load, loadAverageAfter: os.loadavg(), chromium: chromiumVersion,
  firstHeatmapMs: { median: median(samples), min: Math.min(...samples), max: Math.max(...samples), samples },
  drivenFirstHeatmapMs: {
    median: median(drivenSamples), min: Math.min(...drivenSamples), max: Math.max(...drivenSamples), samples: drivenSamples,
  },
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
    `[${result.firstHeatmapMs.min.toFixed(0)}-${result.firstHeatmapMs.max.toFixed(0)}] (budget ${BUDGET_MS} ms); ` +
    `the same loads driven by Playwright (its network instrumentation attached): median ` +
    `${result.drivenFirstHeatmapMs.median.toFixed(0)} ms [${result.drivenFirstHeatmapMs.min.toFixed(0)}-${result.drivenFirstHeatmapMs.max.toFixed(0)}]`,
];
console.log(lines.join('\n'));
mkdirSync(join(root, 'bench'), { recursive: true });
writeFileSync(join(root, 'bench/widget.json'), `${JSON.stringify(result, null, 2)}\n`);
appendFileSync(join(root, 'bench/table.txt'), `${lines.join('\n')}\n`);
