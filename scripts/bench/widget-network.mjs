// npm run bench, third part: the widget folder (dist/widget/) as a blog author hosts it, on a throttled link.
// A static server (gzip for JS and wasm, as static hosts do; the model file as it is) serves dist/widget/ under
// /av/ and two posts whose first element is in view at load: "live" (the element alone: engine + model) and
// "poster" (the same element with an inline <script type="application/json"> poster from its own exportJSON()).
// Each load is cold (a new browser context: no HTTP cache) under Chromium's DevTools network emulation
// (Network.emulateNetworkConditions, 10 Mbit/s down and up, no added latency), several times:
//   - first heatmap: ms from navigation start to the first 'attention-rendered' event (poster) or the first
//     'attention-computed' event (live), read in the page (performance.now())
//   - bytes: the response bodies (as sent: gzip where the server gzips) of every request the server received
//     before that event (page and worker; a request still in flight then counts whole), and which files
// Prints a table and appends it to bench/table.txt. Figures only: nothing here asserts a time.
// Options: --runs N (3), --mbit N (10).
import { chromium } from '@playwright/test';
import { createServer } from 'node:http';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, appendFileSync, mkdirSync } from 'node:fs';
import { join, resolve, extname, sep } from 'node:path';
import { gzipSync } from 'node:zlib';
import os from 'node:os';

const root = resolve(import.meta.dirname, '../..');
const widgetDir = join(root, 'dist/widget');
const args = process.argv.slice(2);
const value = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const runs = Number(value('--runs', 3));
const mbit = Number(value('--mbit', 10));
const TEXT = "The animal didn't cross the street because it was too tired";
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.wgsl': 'text/plain' };

if (!existsSync(join(widgetDir, 'attention-view.js'))) {
  console.log('bench widget-network: building dist/widget/ (npx vite build --mode widget)');
  execFileSync('npx', ['vite', 'build', '--mode', 'widget', '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
}

const pages = {};
const gz = new Map();
let served = [];  // { path, at (Date.now() when asked), bytes (the body as sent) } of the current load
const server = createServer((req, res) => {
  const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
  if (pages[path]) {
    served.push({ path, at: Date.now(), bytes: Buffer.byteLength(pages[path]) });
    res.writeHead(200, { 'Content-Type': 'text/html', 'Cache-Control': 'no-store' });
    res.end(pages[path]);
    return;
  }
  const file = resolve(widgetDir, `.${path.replace(/^\/av/, '')}`);
  if (!path.startsWith('/av/') || !file.startsWith(widgetDir + sep) || !existsSync(file) || !statSync(file).isFile()) {
    res.writeHead(404);
    res.end();
    return;
  }
  const type = TYPES[extname(file)] ?? 'application/octet-stream';
  let body = readFileSync(file);
  const headers = { 'Content-Type': type, 'Cache-Control': 'no-store' };
  if (TYPES[extname(file)] && /gzip/.test(req.headers['accept-encoding'] ?? '')) {
    if (!gz.has(file)) gz.set(file, gzipSync(body, { level: 6 }));
    body = gz.get(file);
    headers['Content-Encoding'] = 'gzip';
  }
  headers['Content-Length'] = body.length;
  served.push({ path, at: Date.now(), bytes: body.length });
  res.writeHead(200, headers);
  res.end(body);
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const origin = `http://127.0.0.1:${server.address().port}`;

const post = (inner) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>post</title>
<script type="module" src="/av/attention-view.js"></script>
<script>
  // The first heatmap: a poster or a live result drawn (attention-rendered), a live result (attention-computed).
  for (const type of ['attention-rendered', 'attention-computed']) {
    document.addEventListener(type, (e) => {
      const precomputed = Boolean(e.detail?.result?.precomputed);
      if (!window.__marks?.[type + precomputed]) (window.__marks ??= {})[type + precomputed] = performance.now();
      window.__benchMark?.(type, precomputed, performance.now());
    });
  }
</script></head><body><attention-view id="w" text="${TEXT}" view="heatmap">${inner}</attention-view>
<p>${'Text of the post. '.repeat(200)}</p></body></html>`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});

// The poster: the live widget's own exportJSON(), on an unthrottled load.
pages['/live.html'] = post('');
{
  const page = await browser.newPage();
  await page.goto(`${origin}/live.html`);
  const json = await page.evaluate(async () => {
    const el = document.getElementById('w');
    await customElements.whenDefined('attention-view');
    for (;;) {
      const r = await el.ready;
      if (!r.precomputed) break;
    }
    return el.exportJSON();
  });
  await page.close();
  pages['/poster.html'] = post(`<script type="application/json">${json.replace(/</g, '\\u003c')}</script>`);
}

async function load(path) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false, latency: 0, downloadThroughput: (mbit * 1e6) / 8, uploadThroughput: (mbit * 1e6) / 8,
  });
  served = [];
  const marks = {};
  let done;
  const allDone = new Promise((r) => { done = r; });
  await page.exposeFunction('__benchMark', (type, precomputed, ms) => {
    const key = `${type}${precomputed ? '-poster' : ''}`;
    if (!marks[key]) marks[key] = { ms, at: Date.now() };
    if (type === 'attention-computed') done();
  });
  await page.goto(`${origin}${path}`);
  await Promise.race([allDone, new Promise((r) => setTimeout(r, 120_000))]);
  await new Promise((r) => setTimeout(r, 300));
  await context.close();
  const first = path === '/poster.html' ? marks['attention-rendered-poster'] : marks['attention-computed'];
  const before = served.filter((f) => f.at <= first.at);
  return {
    ms: first.ms, live: marks['attention-computed']?.ms,
    bytes: before.reduce((s, f) => s + f.bytes, 0),
    files: before.map((f) => `${f.path.replace(/^\/av\//, '')} ${(f.bytes / 1024).toFixed(1)} KB`),
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const load0 = os.loadavg();
const results = { live: [], poster: [] };
for (let i = 0; i < runs; i++) {
  for (const kind of ['poster', 'live']) results[kind].push(await load(`/${kind}.html`));
}
await browser.close();
server.close();

const kb = (b) => (b / 1024).toFixed(1);
const lines = [
  `widget folder on a ${mbit} Mbit/s link (Chromium network emulation), cold, ${runs} loads each; ${new Date().toISOString()}; ` +
    `${os.cpus()[0]?.model ?? 'cpu'} x${os.cpus().length}, load average ${load0.map((x) => x.toFixed(2)).join(' ')}`,
  '| path | first heatmap (ms, median; min-max) | bytes requested before it (median; in flight counted whole) | live result (ms, median) |',
  '| --- | --- | --- | --- |',
];
for (const kind of ['poster', 'live']) {
  const rs = results[kind];
  const ms = rs.map((r) => r.ms);
  lines.push(`| ${kind} | ${Math.round(median(ms))} (${Math.round(Math.min(...ms))}-${Math.round(Math.max(...ms))}) | ` +
    `${kb(median(rs.map((r) => r.bytes)))} KB | ${Math.round(median(rs.map((r) => r.live)))} |`);
}
lines.push(`poster: files before the first heatmap: ${results.poster[0].files.join(', ')}`);
lines.push(`live: files before the first heatmap: ${results.live[0].files.join(', ')}`);
const table = lines.join('\n');
console.log(table);
mkdirSync(join(root, 'bench'), { recursive: true });
appendFileSync(join(root, 'bench/table.txt'), `\n${table}\n`);
