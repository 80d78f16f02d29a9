// The core widget tests in Firefox and WebKit (issue 18): the built widget folder (dist/widget/) on a plain
// static page renders the pretrained model's heatmap, its numbers equal the library's (the same tarball's
// web/src/lib, unbundled, in the same page), it exports SVG, PNG and JSON, the keyboard moves over the heatmap
// and switches views, and the folder also works from a second origin (CORS, the worker's blob: trampoline).
// Chromium runs the same checks and more in tests/e2e (widget.spec.js, package.spec.js).
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { execFileSync } from 'node:child_process';
import { statSync, readdirSync, existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { serveStatic } from '../e2e/static-server.js';
import { launchFirefox, launchWebKit, missing } from './drivers.js';

const root = resolve(import.meta.dirname, '../..');
const widgetDir = join(root, 'dist/widget');
const TEXT = "The animal didn't cross the street because it was too tired";

function newest(path) {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((f) => newest(join(path, f))));
}

/** Builds dist/widget/ when it is missing or older than its sources (what npm run build does). */
function ensureWidgetBuild() {
  const entry = join(widgetDir, 'attention-view.js');
  const sources = ['web/src/widget', 'web/src/lib', 'web/public/models/use-lite.i8.safetensors', 'vite.config.js'];
  if (existsSync(entry) && statSync(entry).mtimeMs >= Math.max(...sources.map((p) => newest(join(root, p))))) return;
  execFileSync(process.execPath, [join(root, 'node_modules/vite/bin/vite.js'), 'build', '--mode', 'widget', '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
}

// The library, unbundled, as globalThis.__lib (in-page functions cannot use import(): Vitest rewrites it).
const page = (src) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>post</title>
  <script type="module" src="${src}"></script>
  <script type="module">import * as lib from '/lib/index.js'; globalThis.__lib = lib;</script></head><body>
  <attention-view id="w" text="${TEXT}" view="heatmap" layer="1" head="3"></attention-view></body></html>`;

// ---- in the page (sent as source: self-contained) ------------------------------------------------------------
async function renderedAgainstLibrary(text) {
  await customElements.whenDefined('attention-view');
  const el = document.getElementById('w');
  const r = await el.ready;
  for (let i = 0; i < 200 && !globalThis.__lib; i++) await new Promise((r) => setTimeout(r, 50));
  const { createEngine } = globalThis.__lib;
  const engine = await createEngine({ backend: 'wasm', threads: 1 });
  const model = await engine.loadModel(r.modelUrl);
  const want = (await model.run(text)).attention;
  let max = 0;
  want.forEach((w, l) => w.forEach((v, i) => { max = Math.max(max, Math.abs(v - r.layers[l].weights[i])); }));
  const { layer, head } = r.shown;
  const L = r.layers[layer];
  let shownMax = 0;
  r.shown.matrix.forEach((v, i) => { shownMax = Math.max(shownMax, Math.abs(v - L.weights[head * L.nq * L.nk + i])); });
  return {
    weightsFrom: r.weightsFrom, modelUrl: r.modelUrl, simd: r.simd, relaxedSimd: r.relaxedSimd, status: el.shadowRoot.querySelector('.status').textContent, layer, head, n: L.nq, max, shownMax,
    rects: el.shadowRoot.querySelectorAll('.heatmap-view svg rect[data-i]').length,
  };
}

async function exports() {
  const el = document.getElementById('w');
  const r = await el.ready;
  const svgText = el.exportSVG();
  const svg = new DOMParser().parseFromString(svgText, 'image/svg+xml');
  const png = await el.exportPNG(1);
  const head = new Uint8Array(await png.slice(0, 8).arrayBuffer());
  const json = JSON.parse(el.exportJSON());
  return {
    svgError: svg.querySelector('parsererror')?.textContent ?? null,
    svgRoot: svg.documentElement.localName,
    svgRects: svg.querySelectorAll('rect[data-i]').length,
    pngType: png.type, pngBytes: png.size, pngMagic: Array.from(head),
    jsonFormat: json.format,
    jsonText: json.settings.text,
    jsonSame: json.result.layers.every((L, l) => L.weights.length === r.layers[l].weights.length &&
      L.weights.every((v, i) => v === r.layers[l].weights[i])),
    n: r.layers[0].nq,
  };
}

async function focusHeatmap() {
  const el = document.getElementById('w');
  await el.ready;
  const svg = el.shadowRoot.querySelector('.heatmap-view svg[tabindex]');
  svg.focus();
  return el.shadowRoot.activeElement === svg;
}

async function spokenAndExpected() {
  const el = document.getElementById('w');
  const s = el.result.shown;
  return {
    spoken: el.shadowRoot.querySelector('[aria-live]').textContent,
    expected: `“${s.queryLabels[1]}” → “${s.keyLabels[1]}”: ${s.matrix[s.cols + 1].toFixed(3)}`,
  };
}

async function focusViewButton(view) {
  const el = document.getElementById('w');
  const b = el.shadowRoot.querySelector(`button[data-view="${view}"]`);
  b.focus();
  return el.shadowRoot.activeElement === b;
}

async function viewShown(selector) {
  const el = document.getElementById('w');
  for (let i = 0; i < 100 && !el.shadowRoot.querySelector(selector); i++) await new Promise((r) => setTimeout(r, 50));
  await el.ready;
  return { found: Boolean(el.shadowRoot.querySelector(selector)), view: el.getAttribute('view') };
}

// ---- the tests -------------------------------------------------------------------------------------------------
const LAUNCH = { firefox: launchFirefox, webkit: launchWebKit };

// WebKit evaluates a worker's entry module a second time when a chunk imports it; the second copy took over the
// worker's messages and the first page's widget could wait for ever. web/src/widget/worker.js only loads
// worker-main.js, so no chunk may import the entry.
it('no chunk of dist/widget imports the worker\'s entry', () => {
  ensureWidgetBuild();
  const assets = readdirSync(join(widgetDir, 'assets')).filter((f) => f.endsWith('.js'));
  const entry = assets.filter((f) => /^worker-[\w-]{8}\.js$/.test(f) && readFileSync(join(widgetDir, 'assets', f), 'utf8').includes('worker-main-'));
  expect(entry).toHaveLength(1);
  const importers = assets.filter((f) => readFileSync(join(widgetDir, 'assets', f), 'utf8').includes(`./${entry[0]}`));
  expect(importers).toEqual([]);
});

for (const name of ['firefox', 'webkit']) {
  describe(`<attention-view> in ${name}`, () => {
    let browser, site, cdn;

    beforeAll(async () => {
      const why = missing(name);
      if (why) throw new Error(`${name}: ${why}`);
      ensureWidgetBuild();
      cdn = await serveStatic({ mounts: { '/av/': widgetDir }, cors: true });
      site = await serveStatic({
        mounts: { '/blog/attention-view/': widgetDir, '/lib/': join(root, 'web/src/lib') },
        pages: { '/blog/post.html': page('attention-view/attention-view.js'), '/cross.html': page(`${cdn.origin}/av/attention-view.js`) },
      });
      browser = await LAUNCH[name]();
      console.log(`${name} ${browser.version}`);
      await browser.goto(`${site.origin}/blog/post.html`);
    }, 180_000);

    afterAll(async () => {
      await browser?.close();
      await site?.close();
      await cdn?.close();
    });

    it('renders the pretrained model\'s heatmap, and its numbers are the library\'s', async () => {
      const r = await browser.evaluate(renderedAgainstLibrary, TEXT);
      console.log(`${name}: ${r.n} tokens, SIMD ${r.simd}, max |widget - library| = ${r.max}`);
      expect(r.weightsFrom).toBe('model');
      expect(r.modelUrl).toBe(`${site.origin}/blog/attention-view/models/use-lite.i8.safetensors`);
      expect(r.simd).toBe(true);
      // Firefox ESR 153 validates relaxed SIMD, WebKitGTK 2.50 does not: the status line names the build that ran.
      expect(r.relaxedSimd).toBe(name === 'firefox');
      expect(r.status).toContain(name === 'firefox' ? 'wasm relaxed SIMD · ' : 'wasm SIMD · ');
      expect([r.layer, r.head]).toEqual([1, 3]);
      expect(r.rects).toBe(r.n * r.n);
      expect(r.max).toBeLessThanOrEqual(1e-6);
      expect(r.shownMax).toBe(0);
    });

    it('exports SVG, PNG and JSON', async () => {
      const e = await browser.evaluate(exports);
      expect(e.svgError).toBeNull();
      expect(e.svgRoot).toBe('svg');
      expect(e.svgRects).toBe(e.n * e.n);
      expect(e.pngType).toBe('image/png');
      expect(e.pngMagic).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
      expect(e.pngBytes).toBeGreaterThan(1000);
      expect(e.jsonFormat).toBe('attention-view/1');
      expect(e.jsonText).toBe(TEXT);
      expect(e.jsonSame).toBe(true);
    });

    it('keyboard: arrows move over the heatmap and a live region reads the cell; Enter switches views', async () => {
      expect(await browser.evaluate(focusHeatmap)).toBe(true);
      await browser.press('ArrowRight');
      await browser.press('ArrowDown');
      const { spoken, expected } = await browser.evaluate(spokenAndExpected);
      expect(spoken).toBe(expected);
      expect(await browser.evaluate(focusViewButton, 'model')).toBe(true);
      await browser.press('Enter');
      expect(await browser.evaluate(viewShown, '.model-view')).toEqual({ found: true, view: 'model' });
    });

    it('loads each of the widget\'s files once (the worker\'s entry is evaluated once)', () => {
      const assets = site.log.filter((p) => p.startsWith('/blog/attention-view/assets/'));
      expect(assets.some((p) => /\/worker-main-[\w-]+\.js$/.test(p))).toBe(true);
      expect(assets.filter((p, i) => assets.indexOf(p) !== i)).toEqual([]);
    });

    it('works from a second origin (CORS): the worker starts through its blob: trampoline', async () => {
      await browser.goto(`${site.origin}/cross.html`);
      const r = await browser.evaluate(renderedAgainstLibrary, TEXT);
      expect(r.weightsFrom).toBe('model');
      expect(r.modelUrl).toBe(`${cdn.origin}/av/models/use-lite.i8.safetensors`);
      expect(r.max).toBeLessThanOrEqual(1e-6);
      expect(cdn.log.some((p) => /^\/av\/assets\/worker-[\w-]+\.js$/.test(p))).toBe(true);
    });
  });
}
