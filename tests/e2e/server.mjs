// A static file server for the trunk-built dist/, mounted under any base path (GitHub Pages
// serves from /REPO/). Records every request. Options, changeable while it runs through
// `server.options`: `block` makes chosen files 404, `replace` serves other bytes for them, and
// `stall` sends the first half of chosen files, then holds the rest for that many milliseconds
// (a slow network, to reload in the middle of a download).
import http from 'node:http';
import fs from 'node:fs/promises';
import path from 'node:path';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.webmanifest': 'application/manifest+json',
};

const pick = (map, rel) => Object.keys(map).find((name) => rel.endsWith(name));

export async function serve(distDir, { base = '/', block = [], replace = {}, stall = {} } = {}) {
  const dist = path.resolve(distDir);
  const options = { block, replace, stall };
  const requests = [];
  const sockets = new Set();
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://localhost');
    requests.push(url.pathname);
    if (!url.pathname.startsWith(base)) {
      res.writeHead(404).end('outside the base path');
      return;
    }
    let rel = decodeURIComponent(url.pathname.slice(base.length));
    if (rel === '' || rel.endsWith('/')) rel += 'index.html';
    const file = path.join(dist, rel);
    if (!file.startsWith(dist + path.sep) || options.block.some((b) => rel.endsWith(b))) {
      res.writeHead(404).end('not found');
      return;
    }
    let body;
    try {
      const name = pick(options.replace, rel);
      body = name ? options.replace[name] : await fs.readFile(file);
    } catch {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, {
      'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream',
      'content-length': body.length,
      'cache-control': 'no-store',
    });
    const slow = pick(options.stall, rel);
    if (slow) {
      const half = Math.floor(body.length / 2);
      res.write(body.subarray(0, half));
      setTimeout(() => res.end(body.subarray(half)), options.stall[slow]);
    } else {
      res.end(body);
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}${base}`,
    origin: `http://127.0.0.1:${port}`,
    requests,
    options,
    /** Stops serving at once (open connections too): as if the network were gone. */
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((ok) => server.close(ok));
    },
  };
}
