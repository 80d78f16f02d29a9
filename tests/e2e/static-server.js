// A small static file server for the packaging tests: folders mounted under URL prefixes, a few pages given as
// text, optional CORS (Access-Control-Allow-Origin: *), and a log of the paths asked for. No bundler, no dev
// server: what a blog author's host does.
import { createServer } from 'node:http';
import { createReadStream, statSync } from 'node:fs';
import { join, normalize, extname, sep } from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm',
  '.json': 'application/json', '.wgsl': 'text/plain', '.css': 'text/css', '.svg': 'image/svg+xml',
};

/**
 * mounts: { '/prefix/': '/abs/dir' }; pages: { '/path.html': 'text' }; cors: boolean.
 * Resolves with { origin, log: string[] (paths), close() }.
 */
export async function serveStatic({ mounts = {}, pages = {}, cors = false } = {}) {
  const log = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    log.push(path);
    const headers = cors ? { 'Access-Control-Allow-Origin': '*' } : {};
    if (pages[path] !== undefined) {
      res.writeHead(200, { ...headers, 'Content-Type': TYPES['.html'] });
      res.end(pages[path]);
      return;
    }
    const prefix = Object.keys(mounts).find((p) => path.startsWith(p));
    if (prefix) {
      const dir = mounts[prefix];
      const file = normalize(join(dir, path.slice(prefix.length)));
      let stat = null;
      try { stat = statSync(file); } catch { /* missing */ }
      if (file.startsWith(dir + sep) && stat?.isFile()) {
        res.writeHead(200, {
          ...headers, 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Length': stat.size,
        });
        createReadStream(file).pipe(res);
        return;
      }
    }
    res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' });
    res.end('not found');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    log,
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(resolve); }),
  };
}
