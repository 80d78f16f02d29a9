// Vite serves and builds the explorer page (web/index.html), the sample blog post and the widget.
// COOP/COEP make the pages cross-origin isolated (SharedArrayBuffer for the threaded build).
// The build writes dist/index.html, dist/examples/blog-post.html and dist/attention-view.js (the
// embeddable widget: one ES module at a stable name, its worker, wasm and chunks under dist/assets/, the
// model under dist/models/), all plain static files that any server can host.
import { defineConfig } from 'vite';
import { resolve, basename } from 'node:path';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

// The threaded WASM build's pthread worker (web/src/lib/wasm/*.worker.js) is a classic worker script that the
// Emscripten glue starts by URL. The dev server would rewrite it as an ES module (an `import` of its client
// for the worker's dynamic import()), which a classic worker cannot run: serve it as it is. A production build
// copies it verbatim (web/src/lib/backends/wasm.js refers to it with new URL(..., import.meta.url)).
function rawPthreadWorker() {
  return {
    name: 'attn-raw-pthread-worker',
    configureServer(server) {
      server.middlewares.use(async (req, res, next) => {
        const m = /^\/src\/lib\/wasm\/([\w.-]+\.worker\.js)(?:[?#].*)?$/.exec(req.url ?? '');
        if (!m) return next();
        try {
          const body = await readFile(fileURLToPath(new URL(`./web/src/lib/wasm/${basename(m[1])}`, import.meta.url)));
          res.setHeader('Content-Type', 'text/javascript');
          for (const [k, v] of Object.entries(isolation)) res.setHeader(k, v);
          res.end(body);
        } catch {
          next();
        }
      });
    },
  };
}

// The test server (playwright.config.js sets ATTN_TEST_SERVER) neither watches files nor hot-reloads, so
// an edit in the checkout never reloads a page in the middle of a test.
const testServer = Boolean(process.env.ATTN_TEST_SERVER);

export default defineConfig({
  root: 'web',
  plugins: [rawPthreadWorker()],
  publicDir: 'public',
  base: './',
  server: {
    host: '127.0.0.1',
    port: 5173,
    headers: isolation,
    fs: { allow: ['..'] },
    ...(testServer ? { hmr: false, watch: null } : {}),
  },
  preview: { host: '127.0.0.1', port: 4173, headers: isolation },
  build: {
    outDir: '../dist',
    emptyOutDir: true,
    target: 'es2022',
    // The wasm and model files stay files (never inlined as data: URLs, which a strict CSP may refuse).
    assetsInlineLimit: 0,
    rollupOptions: {
      input: {
        main: resolve('web/index.html'),
        blog: resolve('web/examples/blog-post.html'),
        'attention-view': resolve('web/src/widget/attention-view.js'),
      },
      // Keep the widget's exports (customElements.define runs as a side effect of loading it).
      preserveEntrySignatures: 'exports-only',
      output: {
        entryFileNames: (chunk) => (chunk.name === 'attention-view' ? 'attention-view.js' : 'assets/[name]-[hash].js'),
      },
    },
  },
  worker: {
    format: 'es',
    rollupOptions: { output: { entryFileNames: 'assets/[name]-[hash].js' } },
  },
});
