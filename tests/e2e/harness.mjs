// Shared set-up: Debian's Chromium through playwright-core, the dist/ server, drawing helpers.
import { before, after } from 'node:test';
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from './server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(here, '../..');
export const DIST = process.env.DIGITS_DIST ?? path.join(ROOT, 'dist');
export const BASE = process.env.DIGITS_BASE ?? '/';
export const OUT = path.join(ROOT, 'tests/out');
export const DIGITS = JSON.parse(fs.readFileSync(path.join(here, 'digits.json'), 'utf8'));
fs.mkdirSync(OUT, { recursive: true });

const CHROMIUM = {
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
};

export async function launch() {
  return chromium.launch(CHROMIUM);
}

/** A browser with a real (not incognito) profile in a fresh directory, as one context. */
export async function launchProfile(device) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'digits-profile-'));
  const context = await chromium.launchPersistentContext(dir, { ...CHROMIUM, ...device });
  context.on('close', () => {
    try {
      fs.rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    } catch {
      // A leftover profile in the temp directory is harmless.
    }
  });
  return context;
}

export const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true };
export const DESKTOP = { viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 };

/**
 * Watches a context: console errors, page errors, Content-Security-Policy violations and any
 * request (the service worker's too) that leaves the page's origin and base path all land in
 * the returned list. Pages opened in the context later are watched as well.
 */
export async function watch(context, server) {
  const errors = [];
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline code'}`);
    });
  });
  const watchPage = (page) => {
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    page.on('pageerror', (e) => errors.push(String(e)));
  };
  context.pages().forEach(watchPage);
  context.on('page', watchPage);
  context.on('request', (r) => {
    if (!r.url().startsWith(server.url) && !r.url().startsWith('data:')) {
      errors.push(`request outside the page's origin and path: ${r.url()}`);
    }
  });
  return errors;
}

/** Opens the page in a fresh context and waits until the model (or only the wasm) is ready. */
export async function open(browser, server, device, { waitModel = true } = {}) {
  const context = await browser.newContext(device);
  const errors = await watch(context, server);
  const page = await context.newPage();
  await page.goto(server.url);
  await page.waitForSelector(waitModel ? 'html.model-ready' : 'html.wasm-ready', { timeout: 30000 });
  return { context, page, errors };
}

export async function padBox(page) {
  await page.locator('#pad').scrollIntoViewIfNeeded();
  return page.locator('#pad').boundingBox();
}

/**
 * Where a point of a drawing lands on the pad: drawings are in 0..1 coordinates of a square,
 * which is the pad's height, centred across its width (the pad is wider than tall).
 */
export function padPoint(box, [x, y]) {
  const side = Math.min(box.width, box.height);
  return [box.x + (box.width - side) / 2 + x * side, box.y + (box.height - side) / 2 + y * side];
}

/**
 * A number written with the test digits of digits.json, left to right across the pad: each
 * digit `scale` of the pad's height, `gap` (in digit heights) between their boxes. Returns
 * strokes in the same 0..1-of-the-height coordinates as one digit, centred.
 */
export function numberStrokes(number, { scale = 0.62, gap = 0.12, aspect = 2 } = {}) {
  const digits = [...number].map((d) => DIGITS[d]);
  const extent = (strokes) => {
    const xs = strokes.flat().map((p) => p[0]);
    return [Math.min(...xs), Math.max(...xs)];
  };
  const widths = digits.map((s) => { const [a, b] = extent(s); return (b - a) * scale; });
  const total = widths.reduce((a, b) => a + b, 0) + gap * scale * (digits.length - 1);
  // Square-of-the-height coordinates: x runs from -(aspect - 1) / 2 to (aspect + 1) / 2.
  let x = 0.5 - total / 2;
  const out = [];
  digits.forEach((strokes, i) => {
    const [a] = extent(strokes);
    for (const s of strokes) {
      out.push(s.map(([px, py]) => [x + (px - a) * scale, 0.5 + (py - 0.5) * scale]));
    }
    x += widths[i] + gap * scale;
  });
  return out;
}

/** Draws strokes (0..1 points of the square in the pad's middle) with real mouse events. */
export async function drawMouse(page, strokes) {
  const box = await padBox(page);
  const at = (p) => padPoint(box, p);
  for (const stroke of strokes) {
    const [x0, y0] = at(stroke[0]);
    await page.mouse.move(x0, y0);
    await page.mouse.down();
    for (const p of stroke.slice(1)) {
      const [x, y] = at(p);
      await page.mouse.move(x, y, { steps: 6 });
    }
    await page.mouse.up();
  }
}

/**
 * Draws strokes with real touch events (pointerType "touch") through the DevTools protocol,
 * `steps` moves along each segment between two points; `hold` milliseconds still before each
 * lift (a finger lifted while moving fast starts a fling, and Chromium takes the next tap
 * anywhere as the one that stops it).
 */
export async function drawTouch(page, strokes, { fingers = 1, steps = 6, hold = 0 } = {}) {
  const box = await padBox(page);
  const cdp = await page.context().newCDPSession(page);
  const at = (p, i = 0) => {
    const [x, y] = padPoint(box, p);
    return { x: x + i * 40, y, id: i };
  };
  const touch = (type, p) =>
    cdp.send('Input.dispatchTouchEvent', {
      type,
      touchPoints: type === 'touchEnd' ? [] : Array.from({ length: fingers }, (_, i) => at(p, i)),
    });
  for (const stroke of strokes) {
    await touch('touchStart', stroke[0]);
    for (let k = 1; k < stroke.length; k++) {
      const [ax, ay] = stroke[k - 1];
      const [bx, by] = stroke[k];
      for (let s = 1; s <= steps; s++) {
        await touch('touchMove', [ax + ((bx - ax) * s) / steps, ay + ((by - ay) * s) / steps]);
      }
    }
    if (hold > 0) {
      await page.waitForTimeout(hold);
      await touch('touchMove', stroke[stroke.length - 1]);
    }
    await touch('touchEnd');
    // A finger needs a moment to lift and land again: touches a few milliseconds apart are
    // taken by Chromium's gesture detector as one gesture (and swallow the next tap's click).
    await page.waitForTimeout(200);
  }
  await cdp.detach();
}

/** The number the page read (`#prediction[data-number]`). */
export async function readNumber(page) {
  return page.locator('#prediction').getAttribute('data-number');
}

/** The digit boxes over the pad: [{index, digit, box: [x, y, w, h]}]. */
export async function digitBoxes(page) {
  return page.$$eval('#boxes [data-digit-index]', (els) => els.map((e) => ({
    index: Number(e.dataset.digitIndex),
    digit: e.dataset.digit,
    box: e.dataset.box.split(',').map(Number),
  })));
}

export async function predicted(page) {
  return page.locator('#prediction').getAttribute('data-digit');
}

/** Waits until the page shows a prediction (non-empty data-digit) and returns it. */
export async function waitPrediction(page) {
  await page.waitForFunction(() => document.querySelector('#prediction').dataset.digit !== '');
  return predicted(page);
}

export async function startServer(opts = {}) {
  if (!fs.existsSync(path.join(DIST, 'index.html'))) {
    throw new Error(`${DIST}/index.html is missing: build the page first (trunk build --release)`);
  }
  return serve(DIST, { base: BASE, ...opts });
}


/** Waits (up to 5 s) until `#prediction[data-digit]` is `value`; fails with what it shows. */
export async function expectDigit(page, value, message = '') {
  try {
    await page.waitForFunction(
      (v) => document.querySelector('#prediction').dataset.digit === v,
      value,
      { timeout: 5000 },
    );
  } catch {
    throw new Error(`${message}: expected data-digit "${value}", page shows "${await predicted(page)}"`);
  }
}

/** Waits until the page reads `value` as the number on the pad (`data-number`). */
export async function expectNumber(page, value, message = '') {
  try {
    await page.waitForFunction(
      (v) => document.querySelector('#prediction').dataset.number === v,
      value,
      { timeout: 5000 },
    );
  } catch {
    throw new Error(`${message}: expected data-number "${value}", page shows "${await readNumber(page)}"`);
  }
}

export async function strokes(page) {
  return Number(await page.locator('#pad').getAttribute('data-strokes'));
}

/**
 * For a test file: launches Chromium and starts the dist/ server before its tests, and closes
 * both after them. Returns an object whose `browser` and `server` are set once they run.
 */
export function shared() {
  const env = {};
  before(async () => {
    env.browser = await launch();
    env.server = await startServer();
  });
  after(async () => {
    await env.browser?.close();
    await env.server?.close();
  });
  return env;
}
