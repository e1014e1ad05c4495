// trunk post-build hook (node): locks the built page down and makes it work offline.
//
// 0. The text loaded before the first prediction (index.html, the stylesheet, the wasm-bindgen
//    glue, web/train.js) without comments and indentation, their SRI hashes taken again.
// 1a. The wasm module built a second time with relaxed SIMD (scripts/wasm-relaxed.sh): checked to
//    have the same wasm-bindgen glue, and shipped beside the first; the loader picks the one the
//    browser runs.
// 1. The wasm module, compressed with xz and fetched with subresource integrity (trunk's loader
//    fetches it without any): the loader is rewritten to fetch NAME_bg.wasm.xz with its SHA-384,
//    decompress it while it streams in, and compile it; a tampered module is refused. Both
//    builds, each with its own hash.
// 2. Content-Security-Policy: a <meta> tag at the top of index.html that allows only the page's
//    own origin, plus 'wasm-unsafe-eval' for WebAssembly and the SHA-256 of each inline script
//    (trunk's module loader is inline; its text depends on the hashed file names and the public
//    URL, so its hash can only be taken here).
// 2b. The trainer module ("Train your own"): its wasm fetched with SRI by its glue, the glue's
//    SHA-384 in an import map for the page's dynamic import.
// 3. eval-worker.js: the template web/eval-worker.js with the wasm-bindgen module's file name
//    (hashed by trunk): the relay that boots the module in the page's check workers.
// 4. sw.js: the service worker template web/sw.js with this build's file list and version
//    (a hash of every file of the site), so a new deploy replaces the old cache cleanly.
//
// Run by trunk with TRUNK_STAGING_DIR set; `node scripts/post-build.mjs DIR` works on any built
// site directory too.
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const site = process.argv[2] ?? process.env.TRUNK_STAGING_DIR;
if (!site) {
  console.error('post-build: give the built site directory (trunk sets TRUNK_STAGING_DIR)');
  process.exit(2);
}
const fail = (message) => {
  console.error(`post-build: ${message}`);
  process.exit(1);
};

const indexPath = path.join(site, 'index.html');
if (!fs.existsSync(indexPath)) fail(`${indexPath} does not exist`);
let html = fs.readFileSync(indexPath, 'utf8');
if (html.includes('http-equiv="Content-Security-Policy"')) fail(`${indexPath} already has a CSP`);

// 0. The text the page loads before its first prediction, without what only readers of the
//    source need (figures in docs/performance.md): HTML comments and indentation; the
//    stylesheet's comments and runs of whitespace; the doc comments wasm-bindgen copies into
//    its glue from the Rust exports, and the glue's indentation. Only transformations that
//    cannot change meaning, checked below (every slimmed script must parse, no template literal
//    may span lines, no CSS string may hold what slimming changes), and every SRI hash trunk
//    wrote for a changed file is taken again.
// A module of one function that uses one relaxed-SIMD instruction (i8x16.relaxed_swizzle), the
// probe of wasm-feature-detect: WebAssembly.validate accepts it only where relaxed SIMD runs.
const RELAXED_SIMD_PROBE = [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 15, 1, 13, 0, 65, 1, 253, 15, 65, 2, 253, 15, 253, 128, 2, 11];
const sri = (data) => `sha384-${crypto.createHash('sha384').update(data).digest('base64')}`;
const reintegrity = (url, data) => {
  const tag = new RegExp(`<[^>]*(?:href|src)="${url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"[^>]*>`);
  const found = html.match(tag);
  if (!found) fail(`${indexPath}: no tag loads ${url}`);
  if (!/integrity="sha384-[^"]+"/.test(found[0])) fail(`${indexPath}: the tag for ${url} has no SHA-384 to update`);
  html = html.replace(found[0], found[0].replace(/integrity="sha384-[^"]+"/, `integrity="${sri(data)}"`));
};
const slim = (url, transform) => {
  const file = path.join(site, path.posix.basename(url));
  const before = fs.readFileSync(file, 'utf8');
  const after = transform(before, file);
  fs.writeFileSync(file, after);
  reintegrity(url, after);
  return before.length - after.length;
};
// A module with its comments or indentation left out must still parse, and no template literal
// may span lines (its text would lose the indentation).
const checkModule = (text, file) => {
  const line = text.split('\n').findIndex((l) => (l.match(/`/g) ?? []).length % 2 === 1);
  if (line >= 0) fail(`${file}: line ${line + 1} opens or closes a template literal that spans lines`);
  const copy = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'post-build-')), 'check.mjs');
  fs.writeFileSync(copy, text);
  try {
    execFileSync(process.execPath, ['--check', copy], { stdio: 'pipe' });
  } catch (e) {
    fail(`${file}: slimmed, it no longer parses: ${e.stderr}`);
  } finally {
    fs.rmSync(path.dirname(copy), { recursive: true });
  }
  return text;
};
html = html.replace(/<!--[\s\S]*?-->\n?/g, '').replace(/^[ \t]+/gm, '').replace(/\n{2,}/g, '\n');
const stylesheet = html.match(/<link rel="stylesheet" href="([^"]+\.css)"/);
const glueUrl = html.match(/import init, \* as bindings from '([^']+\.js)'/);
const loaderScript = html.match(/<script src="([^"]*\/train-[0-9a-f]+\.js)"/);
if (!stylesheet || !glueUrl || !loaderScript) fail(`${indexPath}: trunk no longer links the stylesheet, the wasm-bindgen glue and web/train.js as expected`);

// 1a. The same module built with relaxed SIMD (scripts/wasm-relaxed.sh, trunk's pre-build hook),
//    through the same wasm-bindgen, before the glue is slimmed: its glue must be trunk's glue
//    byte for byte, so one glue drives either module.
const relaxedBuild = path.join(root, 'target/wasm-relaxed/wasm32-unknown-unknown/web/digits_web.wasm');
if (!fs.existsSync(relaxedBuild)) fail(`${relaxedBuild} does not exist: scripts/wasm-relaxed.sh (trunk's pre_build hook) did not run`);
const bindgenOut = fs.mkdtempSync(path.join(os.tmpdir(), 'post-build-relaxed-'));
try {
  execFileSync('wasm-bindgen', ['--target=web', `--out-dir=${bindgenOut}`, '--out-name=digits-web', '--no-typescript', relaxedBuild], { stdio: 'pipe' });
} catch (e) {
  fail(`wasm-bindgen failed on ${relaxedBuild}: ${e.stderr}`);
}
const glueFile = path.join(site, path.posix.basename(glueUrl[1]));
if (!fs.readFileSync(path.join(bindgenOut, 'digits-web.js')).equals(fs.readFileSync(glueFile))) {
  fail(`the relaxed-SIMD build's wasm-bindgen glue differs from ${glueFile}: the two builds no longer export the same interface`);
}
const relaxedWasm = fs.readFileSync(path.join(bindgenOut, 'digits-web_bg.wasm'));
fs.rmSync(bindgenOut, { recursive: true });
const relaxedName = `digits-web-relaxed-${crypto.createHash('sha256').update(relaxedWasm).digest('hex').slice(0, 16)}_bg.wasm`;
fs.writeFileSync(path.join(site, relaxedName), relaxedWasm);
const slimmed = slim(stylesheet[1], (css, file) => {
  const bare = css.replace(/\/\*[\s\S]*?\*\//g, '');
  for (const [string] of bare.matchAll(/"[^"]*"|'[^']*'/g)) {
    if (/[{};:,]|\s\s|\n/.test(string)) fail(`${file}: the string ${string} holds what slimming would change`);
  }
  return bare.replace(/\s+/g, ' ').replace(/ ?([{};,]) ?/g, '$1')
    .replace(/\{[^{}]*\}/g, (block) => block.replace(/: /g, ':')).trim();
})
  + slim(glueUrl[1], (js, file) => checkModule(js.replace(/^[ \t]*\/\*\*[\s\S]*?\*\/\n/gm, '').replace(/^[ \t]+/gm, ''), file))
  + slim(loaderScript[1], (js, file) => checkModule(js.replace(/^[ \t]*\/\/.*\n/gm, '').replace(/^[ \t]+/gm, ''), file));

// The wasm module, xz-compressed: GitHub Pages serves gzip only, and xz makes the module about a
// third smaller than gzip does (figures in docs/performance.md). The page fetches the .xz with
// its SRI hash and decompresses it as it streams in (web/vendor/xz-decompress: xz-embedded in
// wasm) straight into WebAssembly's streaming compiler. Trunk's preload link for the raw module goes: it would download the module a second
// time (a preload does not carry integrity to the fetch that uses it).
const loader = html.match(/module_or_path: '([^']+\.wasm)'/);
if (!loader) fail(`${indexPath}: trunk's loader no longer names the wasm module as expected`);
const wasmUrl = loader[1];
const preload = html.match(/<link rel="preload" href="([^"]+)"[^>]*as="fetch" type="application\/wasm">/);
if (!preload || preload[1] !== wasmUrl) fail(`${indexPath}: no preload link for ${wasmUrl}`);
html = html.replace(preload[0], '');
const compress = (file) => {
  let xz;
  try {
    xz = execFileSync('xz', ['-9e', '--check=crc32', '-c', file], { maxBuffer: 1 << 30 });
  } catch (e) {
    fail(`xz could not compress ${file} (install xz-utils): ${e.message}`);
  }
  fs.writeFileSync(`${file}.xz`, xz);
  fs.unlinkSync(file);
  return { bytes: xz.length, integrity: sri(xz) };
};
const wasmFile = path.join(site, path.posix.basename(wasmUrl));
const plain = { url: `${wasmUrl}.xz`, ...compress(wasmFile) };
const relaxedUrl = `${wasmUrl.slice(0, wasmUrl.length - path.posix.basename(wasmUrl).length)}${relaxedName}`;
const relaxed = { url: `${relaxedUrl}.xz`, ...compress(path.join(site, relaxedName)) };
// The loader asks the browser whether it validates a module with one relaxed-SIMD instruction
// (wasm-feature-detect's probe: i8x16.relaxed_swizzle), marks the choice on <html data-wasm>,
// and fetches that module. sw.js asks the same to cache only that one at install.
const probe = `new Uint8Array(${JSON.stringify(RELAXED_SIMD_PROBE)})`;
html = html.replace(loader[0], `module_or_path: (() => {
const r = typeof WebAssembly === 'object' && WebAssembly.validate(${probe});
document.documentElement.dataset.wasm = r ? 'relaxed-simd' : 'simd128';
const [url, integrity] = r ? ['${relaxed.url}', '${relaxed.integrity}'] : ['${plain.url}', '${plain.integrity}'];
return fetch(url, { integrity }).then((res) => {
  if (!res.ok) throw new Error(\`HTTP \${res.status} for \${url}\`);
  return new Response(new self['xz-decompress'].XzReadableStream(res.body), { headers: { 'Content-Type': 'application/wasm' } });
});
})()`);

// "Train your own" (crates/train-web, a second wasm module trunk builds without hashed names,
// loaded by train.js only when its section comes into view): its glue fetches the wasm with its
// SHA-384, and an import map gives the glue's own SHA-384 to the page's dynamic import of it.
const trainerGlue = path.join(site, 'digits-train-web.js');
const trainerWasm = path.join(site, 'digits-train-web_bg.wasm');
if (!fs.existsSync(trainerGlue) || !fs.existsSync(trainerWasm)) fail(`${site}: the trainer module (digits-train-web) was not built`);
const trainerUrl = "module_or_path = new URL('digits-train-web_bg.wasm', import.meta.url);";
let glueText = fs.readFileSync(trainerGlue, 'utf8');
if (!glueText.includes(trainerUrl)) fail(`${trainerGlue}: wasm-bindgen's loader no longer names the module as expected`);
glueText = glueText.replace(trainerUrl, `module_or_path = fetch(new URL('digits-train-web_bg.wasm', import.meta.url), { integrity: '${sri(fs.readFileSync(trainerWasm))}' });`);
fs.writeFileSync(trainerGlue, glueText);
const importMap = `<script type="importmap">${JSON.stringify({ integrity: { './digits-train-web.js': sri(glueText) } })}</script>`;
const firstScript = html.indexOf('<script');
if (firstScript < 0) fail(`${indexPath}: no script to put the import map before`);
html = `${html.slice(0, firstScript)}${importMap}\n${html.slice(firstScript)}`;

const sha256 = (data) => crypto.createHash('sha256').update(data).digest('base64');
const inline = [...html.matchAll(/<script(?![^>]*\bsrc=)[^>]*>([\s\S]*?)<\/script>/g)].map((m) => `'sha256-${sha256(m[1])}'`);
const csp = [
  "default-src 'none'",
  `script-src 'self' 'wasm-unsafe-eval' ${inline.join(' ')}`.trim(),
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "object-src 'none'",
].join('; ');
const charset = '<meta charset="utf-8">';
if (!html.includes(charset)) fail(`${indexPath} has no ${charset} to put the CSP after`);
html = html.replace(charset, `${charset}\n  <meta http-equiv="Content-Security-Policy" content="${csp}">`);
fs.writeFileSync(indexPath, html);

// The evaluation worker imports the same wasm-bindgen module as the page, beside it.
const worker = fs.readFileSync(path.join(root, 'web/eval-worker.js'), 'utf8')
  .replace('__DIGITS_GLUE__', `./${path.posix.basename(glueUrl[1])}`);
fs.writeFileSync(path.join(site, 'eval-worker.js'), worker);

// Every file of the site, as URLs relative to the service worker (which sits beside index.html).
const files = [];
(function walk(dir) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full);
    else if (entry.name !== 'sw.js') files.push(path.relative(site, full).split(path.sep).join('/'));
  }
})(site);
const version = crypto.createHash('sha256');
for (const f of files) version.update(f).update('\0').update(fs.readFileSync(path.join(site, f)));
const template = fs.readFileSync(path.join(root, 'web/sw.js'), 'utf8');
const assets = files.map((f) => (f === 'index.html' ? './' : f));
const sw = template
  .replace("'__DIGITS_VERSION__'", JSON.stringify(version.digest('hex').slice(0, 16)))
  .replace('__DIGITS_ASSETS__', JSON.stringify(assets))
  .replace('__DIGITS_WASM__', JSON.stringify({ probe: RELAXED_SIMD_PROBE, relaxed: path.posix.basename(relaxed.url), plain: path.posix.basename(plain.url) }));
if (sw.includes('__DIGITS_')) fail('web/sw.js lost one of its markers');
fs.writeFileSync(path.join(site, 'sw.js'), sw);
console.log(`post-build: ${slimmed} characters of comments and indentation left out; wasm ${plain.bytes} bytes as xz (${relaxed.bytes} with relaxed SIMD), fetched with SRI; CSP with ${inline.length} inline script hash(es); sw.js caches ${assets.length} files`);
