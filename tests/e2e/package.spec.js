// The npm package and the widget folder as their users get them (issue 18). `npm pack` (its prepack builds what
// is missing), then:
//  - the tarball holds the library with its WASM modules, the widget with its .d.ts, dist/widget/, the int8
//    model and custom-elements.json, and none of the tests, C++ sources or float32/float16 model files;
//  - installed into a fresh project (offline: the package has no dependencies), both entry points import in
//    Node without throwing; the project built with Vite runs the widget and the library in Chromium;
//  - dist/widget/ from the unpacked tarball works on a plain static page (no bundler) under a sub-path, from a
//    second origin with CORS (the worker through its blob: trampoline), and moved once with
//    <meta name="attention-view-base">.
import { test, expect } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { serveStatic } from './static-server.js';

const root = resolve(import.meta.dirname, '../..');
const TEXT = "The animal didn't cross the street because it was too tired";
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

test.describe.configure({ mode: 'serial', timeout: 600_000 });

let tmp;
let tarball;
let files;
let unpacked;  // .../package

test.beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'attn-pack-'));
  const out = execFileSync('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const info = JSON.parse(out.slice(out.indexOf('[')))[0];
  tarball = join(tmp, info.filename);
  files = info.files.map((f) => f.path);
  console.log(`npm pack: ${info.filename}, ${(info.size / 2 ** 20).toFixed(1)} MiB packed, ${(info.unpackedSize / 2 ** 20).toFixed(1)} MiB unpacked, ${files.length} files`);
  mkdirSync(join(tmp, 'unpacked'));
  execFileSync('tar', ['-xzf', tarball, '-C', join(tmp, 'unpacked')]);
  unpacked = join(tmp, 'unpacked', 'package');
});

test.afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

/** Waits for the widget `selector` and returns what it shows plus the library's weights for the same file. */
async function widgetAgainstLibrary(page, selector, libraryUrl) {
  return page.evaluate(async ([sel, text, lib]) => {
    await customElements.whenDefined('attention-view');
    const el = document.querySelector(sel);
    const r = await el.ready;
    let max = null;
    if (lib) {
      const { createEngine } = lib === 'global' ? globalThis.__lib : await import(lib);
      const engine = await createEngine({ backend: 'wasm', threads: 1 });
      const want = (await (await engine.loadModel(r.modelUrl)).run(text)).attention;
      max = 0;
      want.forEach((w, l) => w.forEach((v, i) => { max = Math.max(max, Math.abs(v - r.layers[l].weights[i])); }));
    }
    const rects = el.shadowRoot.querySelectorAll('.heatmap-view svg rect[data-i]').length;
    return { weightsFrom: r.weightsFrom, modelUrl: r.modelUrl, n: r.layers[0].nq, rects, max, svg: el.exportSVG().length };
  }, [selector, TEXT, libraryUrl]);
}

test('npm pack holds the library, its WASM modules, the widget, dist/widget/ and the int8 model, nothing else', () => {
  for (const f of ['package.json', 'custom-elements.json', 'README.md', 'web/src/lib/index.js', 'web/src/lib/index.d.ts',
    'web/src/lib/wasm/attn_simd.wasm', 'web/src/lib/wasm/attn_scalar.wasm', 'web/src/lib/wasm/attn_simd.mjs',
    'web/src/lib/wasm/attn_simd_relaxed.wasm', 'web/src/lib/wasm/attn_simd_relaxed.mjs',
    'web/src/lib/wasm/attn_simd_mt.wasm', 'web/src/lib/wasm/attn_simd_mt.mjs', 'web/src/lib/wasm/attn_simd_mt.worker.js',
    'web/src/lib/wasm/attn_simd_mt_relaxed.wasm', 'web/src/lib/wasm/attn_simd_mt_relaxed.mjs',
    'web/src/lib/wasm/attn_simd_mt_relaxed.worker.js',
    'web/src/widget/attention-view.js', 'web/src/widget/attention-view.d.ts', 'web/src/widget/worker.js', 'web/src/widget/worker-main.js',
    'web/public/models/use-lite.i8.safetensors', 'dist/widget/attention-view.js', 'dist/widget/models/use-lite.i8.safetensors']) {
    expect(files, f).toContain(f);
  }
  // The widget folder holds every build the library can load (assets/<build>-<hash>.wasm), the two threaded ones
  // with their pthread worker scripts.
  const assets = files.filter((f) => f.startsWith('dist/widget/assets/')).map((f) => f.slice('dist/widget/assets/'.length));
  expect(assets.filter((f) => f.endsWith('.wasm')).map((f) => f.replace(/-[\w-]+\.wasm$/, '')).sort())
    .toEqual(['attn_scalar', 'attn_simd', 'attn_simd_mt', 'attn_simd_mt_relaxed', 'attn_simd_relaxed']);
  for (const build of ['attn_simd_mt', 'attn_simd_mt_relaxed']) {
    expect(assets.some((f) => f.startsWith(`${build}.worker-`) && f.endsWith('.js')), build).toBe(true);
  }
  expect(files.filter((f) => /^(tests|wasm|scripts|bench|build)\//.test(f) || /\.(f32|f16)\.safetensors$/.test(f))).toEqual([]);
  // The exports name both entry points and their types; every file they name is in the package.
  expect(pkg.exports['./widget']).toEqual({ types: './web/src/widget/attention-view.d.ts', default: './web/src/widget/attention-view.js' });
  for (const target of [pkg.exports['.'].types, pkg.exports['.'].default, pkg.exports['./widget'].types]) {
    expect(files).toContain(target.replace(/^\.\//, ''));
  }
});

test('custom-elements.json lists every observed attribute, the events, parts and custom properties', async () => {
  const manifest = JSON.parse(readFileSync(join(unpacked, 'custom-elements.json'), 'utf8'));
  const element = manifest.modules.flatMap((m) => m.declarations).find((d) => d.tagName === 'attention-view');
  const { AttentionView } = await import(join(unpacked, 'web/src/widget/attention-view.js'));
  expect(element.attributes.map((a) => a.name).sort()).toEqual([...AttentionView.observedAttributes].sort());
  const source = readdirSync(join(unpacked, 'web/src/widget'), { recursive: true })
    .filter((f) => f.endsWith('.js')).map((f) => readFileSync(join(unpacked, 'web/src/widget', f), 'utf8')).join('\n');
  for (const e of element.events) expect(source, e.name).toContain(`'${e.name}'`);
  for (const p of element.cssParts) expect(source, p.name).toMatch(new RegExp(`part: '${p.name}'|part="${p.name}"`));
  for (const c of element.cssProperties) expect(source, c.name).toContain(`var(${c.name}`);
});

test('installed into a fresh project: imports in Node, builds with Vite, runs in Chromium', async ({ page }) => {
  const app = join(tmp, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'attn-pack-app', private: true, type: 'module' }));
  execFileSync('npm', ['install', tarball, '--offline', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: app, stdio: 'inherit' });
  // Node (or a server-side render) imports both entry points without a DOM.
  const node = execFileSync(process.execPath, ['--input-type=module', '-e', `
    const widget = await import('${pkg.name}/widget');
    const lib = await import('${pkg.name}');
    console.log(JSON.stringify({ widget: Object.keys(widget).sort(), lib: Object.keys(lib).sort() }));`], { cwd: app, encoding: 'utf8' });
  const exported = JSON.parse(node);
  expect(exported.widget).toContain('AttentionView');
  expect(exported.lib).toContain('createEngine');

  writeFileSync(join(app, 'index.html'), `<!doctype html><meta charset="utf-8"><title>app</title>
    <attention-view id="w" text="${TEXT}" view="heatmap"></attention-view>
    <script type="module" src="./main.js"></script>`);
  writeFileSync(join(app, 'main.js'), `import '${pkg.name}/widget';
    import { createEngine } from '${pkg.name}';
    globalThis.__lib = { createEngine };`);
  writeFileSync(join(app, 'vite.config.mjs'), `export default { base: './', logLevel: 'warn',
    build: { target: 'es2022', assetsInlineLimit: 0 }, worker: { format: 'es' } };`);
  execFileSync(process.execPath, [join(root, 'node_modules/vite/bin/vite.js'), 'build'], { cwd: app, stdio: 'inherit' });
  const built = readdirSync(join(app, 'dist'), { recursive: true });
  // The weights the widget loads, and only those: the int8 sentence encoder and the trained translator (the
  // translate, causal and encdec modes); never the float16 or float32 encoder.
  expect(built.filter((f) => f.endsWith('.safetensors')).sort()).toEqual([
    expect.stringMatching(/translator/), expect.stringMatching(/use-lite\.i8/),
  ]);

  const server = await serveStatic({ mounts: { '/app/': join(app, 'dist') } });
  try {
    await page.goto(`${server.origin}/app/index.html`);
    const r = await widgetAgainstLibrary(page, '#w', 'global');
    expect(r.weightsFrom).toBe('model');
    expect(r.modelUrl).toMatch(new RegExp(`^${server.origin}/app/.*use-lite\\.i8.*\\.safetensors$`));
    expect(r.rects).toBe(r.n * r.n);
    expect(r.max).toBeLessThanOrEqual(1e-6);
  } finally {
    await server.close();
  }
});

const staticPage = (src, head = '') => `<!doctype html><html lang="en"><head><meta charset="utf-8">${head}
  <script type="module" src="${src}"></script></head>
  <body><p>A post.</p><attention-view id="w" text="${TEXT}" view="heatmap" layer="1" head="3"></attention-view></body></html>`;

// The library from the same tarball, unbundled (plain ES modules), for the numbers to compare with.
const LIB = '/lib/index.js';

test('dist/widget/ from the tarball on a plain static page, under a sub-path', async ({ page }) => {
  const site = await serveStatic({
    mounts: { '/blog/static/attention-view/': join(unpacked, 'dist/widget'), '/lib/': join(unpacked, 'web/src/lib') },
    pages: { '/blog/2026/post.html': staticPage('../static/attention-view/attention-view.js') },
  });
  try {
    await page.goto(`${site.origin}/blog/2026/post.html`);
    const r = await widgetAgainstLibrary(page, '#w', LIB);
    expect(r.weightsFrom).toBe('model');
    expect(r.modelUrl).toBe(`${site.origin}/blog/static/attention-view/models/use-lite.i8.safetensors`);
    expect(r.rects).toBe(r.n * r.n);
    expect(r.max).toBeLessThanOrEqual(1e-6);
    expect(r.svg).toBeGreaterThan(1000);
    // Everything the widget loaded came from its folder.
    const widgetFiles = site.log.filter((p) => !p.startsWith('/lib/') && !['/blog/2026/post.html', '/favicon.ico'].includes(p));
    expect(widgetFiles.every((p) => p.startsWith('/blog/static/attention-view/')), widgetFiles.join(' ')).toBe(true);
  } finally {
    await site.close();
  }
});

test('dist/widget/ served from a second origin with CORS: the worker starts through its blob: trampoline', async ({ page }) => {
  const cdn = await serveStatic({ mounts: { '/attention-view/v1/': join(unpacked, 'dist/widget') }, cors: true });
  const site = await serveStatic({
    mounts: { '/lib/': join(unpacked, 'web/src/lib') },
    pages: { '/post.html': staticPage(`${cdn.origin}/attention-view/v1/attention-view.js`) },
  });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  try {
    await page.goto(`${site.origin}/post.html`);
    const r = await widgetAgainstLibrary(page, '#w', LIB);
    expect(r.weightsFrom).toBe('model');
    expect(r.modelUrl).toBe(`${cdn.origin}/attention-view/v1/models/use-lite.i8.safetensors`);
    expect(r.max).toBeLessThanOrEqual(1e-6);
    // The worker, the WASM module and the model came from the second origin; the page's origin served none.
    expect(cdn.log.some((p) => /\/assets\/worker-[\w-]+\.js$/.test(p))).toBe(true);
    // Chromium has relaxed SIMD: the one-thread build with its multiply-add (attn_simd_relaxed).
    expect(cdn.log.some((p) => /\/assets\/attn_simd_relaxed-[\w-]+\.wasm$/.test(p))).toBe(true);
    expect(cdn.log).toContain('/attention-view/v1/models/use-lite.i8.safetensors');
    expect(site.log.filter((p) => !p.startsWith('/lib/') && p !== '/favicon.ico')).toEqual(['/post.html']);
    expect(errors).toEqual([]);
  } finally {
    await site.close();
    await cdn.close();
  }
});

test('<meta name="attention-view-base"> moves every file once: the script on the page\'s origin, the rest on a CDN', async ({ page }) => {
  const cdn = await serveStatic({ mounts: { '/av/': join(unpacked, 'dist/widget') }, cors: true });
  const site = await serveStatic({
    mounts: { '/av/': join(unpacked, 'dist/widget') },
    pages: { '/post.html': staticPage('/av/attention-view.js', `<meta name="attention-view-base" content="${cdn.origin}/av/">`) },
  });
  try {
    await page.goto(`${site.origin}/post.html`);
    const r = await widgetAgainstLibrary(page, '#w', null);
    expect(r.weightsFrom).toBe('model');
    expect(r.modelUrl).toBe(`${cdn.origin}/av/models/use-lite.i8.safetensors`);
    expect(site.log.filter((p) => p !== '/favicon.ico')).toEqual(['/post.html', '/av/attention-view.js']);
    expect(cdn.log.some((p) => /^\/av\/assets\/worker-[\w-]+\.js$/.test(p))).toBe(true);
  } finally {
    await site.close();
    await cdn.close();
  }
});
