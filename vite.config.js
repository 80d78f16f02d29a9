// Vite serves and builds the explorer page (web/index.html), the sample blog post and the widget.
// COOP/COEP make the pages cross-origin isolated (SharedArrayBuffer for the threaded build).
import { defineConfig } from 'vite';
import { resolve } from 'node:path';

const isolation = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  root: 'web',
  publicDir: 'public',
  server: { host: '127.0.0.1', port: 5173, headers: isolation, fs: { allow: ['..'] } },
  preview: { host: '127.0.0.1', port: 4173, headers: isolation },
  build: {
    outDir: '../dist',
    emptyOutDir: true,
    target: 'es2022',
    rollupOptions: {
      input: {
        main: resolve('web/index.html'),
      },
    },
  },
  worker: { format: 'es' },
});
