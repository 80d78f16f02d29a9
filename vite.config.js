// Vite serves and builds the explorer page (web/index.html), the sample blog post and the widget.
// COOP/COEP make the pages cross-origin isolated (SharedArrayBuffer for the threaded build).
// The build writes dist/index.html, dist/examples/blog-post.html and dist/attention-view.js (the
// embeddable widget: one ES module at a stable name, its worker, wasm and chunks under dist/assets/, the
// model under dist/models/), all plain static files that any server can host.
import { defineConfig } from 'vite';
import { resolve } from 'node:path';

const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

// The test server (playwright.config.js sets ATTN_TEST_SERVER) neither watches files nor hot-reloads, so
// an edit in the checkout never reloads a page in the middle of a test.
const testServer = Boolean(process.env.ATTN_TEST_SERVER);

export default defineConfig({
  root: 'web',
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
