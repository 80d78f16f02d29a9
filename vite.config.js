// Vite serves and builds the explorer page (web/index.html), the sample blog post and the widget.
// COOP/COEP make the pages cross-origin isolated (SharedArrayBuffer for the threaded build).
// Two builds, plain static files that any server can host:
//   vite build               the site: dist/site/index.html (explorer), dist/site/examples/blog-post.html, their
//                            assets, and of the model files only the float16 one the explorer loads
//   vite build --mode widget the self-contained widget folder dist/widget/: attention-view.js (the one file a
//                            page includes) and everything it loads, found relative to it: assets/ (the worker,
//                            chunks, WASM modules) and models/use-lite.i8.safetensors (the compact model)
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

// The site's explorer loads /models/use-lite.f16.safetensors (web/src/lib/model DEFAULT_MODEL_PATH): the build
// copies that one file, not the whole public folder (the float32 file is only for tests and tools).
function explorerModel() {
  return {
    name: 'attn-explorer-model',
    async generateBundle() {
      const path = 'models/use-lite.f16.safetensors';
      this.emitFile({ type: 'asset', fileName: path, source: await readFile(resolve('web/public', path)) });
    },
  };
}

// Stable names where an author looks for them; hashed names for the rest (cached forever).
const assetFileNames = (info) => {
  const name = info.names?.[0] ?? info.name ?? '';
  return name.endsWith('.safetensors') ? 'models/[name][extname]' : 'assets/[name]-[hash][extname]';
};

const widget = {
  outDir: '../dist/widget',
  emptyOutDir: true,
  target: 'es2022',
  assetsInlineLimit: 0,
  rollupOptions: {
    input: { 'attention-view': resolve('web/src/widget/attention-view.js') },
    preserveEntrySignatures: 'exports-only',
    output: { entryFileNames: '[name].js', chunkFileNames: 'assets/[name]-[hash].js', assetFileNames },
  },
};

export default defineConfig(({ command, mode }) => ({
  root: 'web',
  plugins: [rawPthreadWorker(), ...(command === 'build' && mode !== 'widget' ? [explorerModel()] : [])],
  // The dev server serves web/public at /; builds copy only what they load (above).
  publicDir: command === 'build' ? false : 'public',
  base: './',
  server: {
    host: '127.0.0.1',
    port: 5173,
    headers: isolation,
    fs: { allow: ['..'] },
    ...(testServer ? { hmr: false, watch: null } : {}),
  },
  preview: { host: '127.0.0.1', port: 4173, headers: isolation },
  build: mode === 'widget' ? widget : {
    outDir: '../dist/site',
    emptyOutDir: true,
    target: 'es2022',
    // The wasm and model files stay files (never inlined as data: URLs, which a strict CSP may refuse).
    assetsInlineLimit: 0,
    rollupOptions: {
      input: { main: resolve('web/index.html'), blog: resolve('web/examples/blog-post.html') },
      output: { assetFileNames },
    },
  },
  worker: {
    format: 'es',
    rollupOptions: { output: { entryFileNames: 'assets/[name]-[hash].js', chunkFileNames: 'assets/[name]-[hash].js', assetFileNames } },
  },
}));
