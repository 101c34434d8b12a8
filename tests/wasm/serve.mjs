// A static file server for the Chromium parity run: serves web/pkg/, tests/wasm/ and
// tests/fixtures/ from the checkout on 127.0.0.1, on a free port that it prints (alone, on one
// line) once listening. Runs until killed.

import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';

const root = new URL('../../', import.meta.url);
const SERVED = ['/web/pkg/', '/tests/wasm/', '/tests/fixtures/'];
const TYPES = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.html': 'text/html; charset=utf-8', '.ts': 'text/plain' };

const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const ext = path.slice(path.lastIndexOf('.'));
    if (!SERVED.some((p) => path.startsWith(p)) || path.includes('..') || !TYPES[ext]) {
        res.writeHead(404).end();
        return;
    }
    try {
        const body = await readFile(new URL(`.${path}`, root));
        res.writeHead(200, { 'Content-Type': TYPES[ext], 'Cache-Control': 'no-store' }).end(body);
    } catch {
        res.writeHead(404).end();
    }
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
