// The page in a real headless Chromium: draw with a real mouse and real touch, read the answer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  shared, open, watch, startServer, drawMouse, drawTouch, predicted, waitPrediction,
  DIGITS, PHONE, DESKTOP, OUT, expectDigit, strokes, padPoint, numberStrokes, readNumber, digitBoxes,
} from './harness.mjs';

const env = shared();
const HERE = path.dirname(fileURLToPath(import.meta.url));

test('mouse: every digit drawn is recognized, live', async () => {
  const { context, page, errors } = await open(env.browser, env.server, DESKTOP);
  assert.equal(await predicted(page), '', 'an empty pad shows no guess');
  assert.match(await page.locator('#confidence').textContent(), /draw a digit/i);
  for (const [digit, strokes] of Object.entries(DIGITS)) {
    await page.click('#clear');
    assert.equal(await predicted(page), '');
    await drawMouse(page, strokes);
    assert.equal(await waitPrediction(page), digit, `drew a ${digit}`);
    // Ten bars, and the model's 28x28 view shows ink.
    assert.equal(await page.locator('#chart svg rect[data-digit]').count(), 10);
    assert.ok((await page.locator('#seen svg rect').count()) > 20);
  }
  await page.screenshot({ path: path.join(OUT, 'desktop.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await context.close();
});

test('the benchmark hooks time the drawing: inference alone, and tract\'s plan step by step', async () => {
  const { context, page, errors } = await open(env.browser, env.server, DESKTOP);
  assert.equal(await page.evaluate(() => window.wasmBindings.profile_model(3)), null, 'nothing drawn, nothing to time');
  assert.ok(Number.isNaN(await page.evaluate(() => window.wasmBindings.benchmark_inference(3))));
  await drawMouse(page, DIGITS['4']);
  assert.equal(await waitPrediction(page), '4');
  const ms = await page.evaluate(() => window.wasmBindings.benchmark_inference(20));
  assert.ok(ms > 0 && ms < 1000, `${ms} ms`);
  const steps = await page.evaluate(() => window.wasmBindings.profile_model(5));
  const ops = steps.map((s) => s.op);
  // The page's plan runs the faster stand-ins for tract's pools and paddings (the crate digits-plan-ops).
  assert.equal(ops.filter((o) => o === 'MaxPool2x2').length, 2, ops.join());
  assert.equal(ops.filter((o) => o === 'ZeroPadHw').length, 4, ops.join());
  assert.ok(steps.some((s) => s.op === 'OptMatMul' && s.name.startsWith('conv_')), ops.join());
  assert.ok(steps.every((s) => typeof s.name === 'string' && s.seconds >= 0));
  assert.equal(await predicted(page), '4', 'timing leaves the answer as it was');
  assert.deepEqual(errors, []);
  await context.close();
});

test('mouse: the prediction updates while the stroke is being drawn', async () => {
  const { context, page, errors } = await open(env.browser, env.server, DESKTOP);
  const box = await page.locator('#pad').boundingBox();
  const seven = DIGITS['7'][0];
  await page.mouse.move(...padPoint(box, seven[0]));
  await page.mouse.down();
  for (const p of seven.slice(1)) {
    await page.mouse.move(...padPoint(box, p), { steps: 8 });
  }
  // Still holding the button: a guess is already there.
  const live = await waitPrediction(page);
  assert.equal(live, '7');
  await page.mouse.up();
  assert.deepEqual(errors, []);
  await context.close();
});

// The strokes are real touch events. The buttons are pressed with clicks: headless Chromium's
// emulated touchscreen does not turn a tap that follows a touch drag into a click.
test('touch on a phone: digits recognized, page never scrolls, undo and clear work', async () => {
  const { context, page, errors } = await open(env.browser, env.server, PHONE);
  await page.evaluate(() => {
    window.__pointerTypes = new Set();
    document.querySelector('#pad').addEventListener('pointerdown', (e) => window.__pointerTypes.add(e.pointerType));
  });
  const pageTaller = await page.evaluate(() => document.documentElement.scrollHeight > window.innerHeight);
  assert.ok(pageTaller, 'the phone page is taller than the screen, so it could scroll');
  await page.evaluate(() => window.scrollTo(0, 0));
  for (const digit of ['3', '4', '8', '1']) {
    await page.click('#clear');
    await expectDigit(page, '', 'clear');
    const before = await page.evaluate(() => window.scrollY);
    await drawTouch(page, DIGITS[digit]);
    assert.equal(await waitPrediction(page), digit, `drew a ${digit} by touch`);
    assert.equal(await page.evaluate(() => window.scrollY), before, 'drawing must not scroll the page');
  }
  assert.deepEqual(await page.evaluate(() => [...window.__pointerTypes]), ['touch']);

  // Undo removes the last stroke only: a 4 is two strokes.
  await page.click('#clear');
  await expectDigit(page, '', 'clear');
  await drawTouch(page, DIGITS['4']);
  assert.equal(await waitPrediction(page), '4');
  assert.equal(await strokes(page), 2);
  await page.click('#undo');
  assert.equal(await strokes(page), 1);
  assert.notEqual(await predicted(page), '', 'one stroke is left');
  await page.click('#undo');
  assert.equal(await strokes(page), 0);
  await expectDigit(page, '', 'nothing is left');

  // A second finger does not scribble: two fingers make one stroke.
  await drawTouch(page, DIGITS['1'], { fingers: 2 });
  assert.equal(await waitPrediction(page), '1');
  assert.equal(await strokes(page), 1);
  await page.click('#undo');
  await expectDigit(page, '', 'the two-finger stroke was one stroke');

  await drawTouch(page, DIGITS['9']);
  assert.equal(await waitPrediction(page), '9');
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(OUT, 'phone.png') });
  await page.click('#clear');
  await expectDigit(page, '', 'clear');
  assert.deepEqual(errors, []);
  await context.close();
});

test('keyboard: Escape clears, Backspace and Ctrl+Z undo', async () => {
  const { context, page, errors } = await open(env.browser, env.server, DESKTOP);
  await drawMouse(page, DIGITS['4']);
  assert.equal(await waitPrediction(page), '4');
  assert.equal(await strokes(page), 2);
  await page.keyboard.press('Backspace');
  assert.equal(await strokes(page), 1);
  await page.keyboard.press('Control+z');
  assert.equal(await strokes(page), 0);
  assert.equal(await predicted(page), '');
  await drawMouse(page, DIGITS['2']);
  assert.equal(await waitPrediction(page), '2');
  await page.keyboard.press('Escape');
  assert.equal(await predicted(page), '');
  assert.deepEqual(errors, []);
  await context.close();
});

test('resizing keeps the drawing and the answer', async () => {
  const { context, page, errors } = await open(env.browser, env.server, DESKTOP);
  await drawMouse(page, DIGITS['6']);
  assert.equal(await waitPrediction(page), '6');
  await page.setViewportSize({ width: 400, height: 800 });
  await page.waitForTimeout(100);
  await page.setViewportSize({ width: 1000, height: 700 });
  await page.waitForTimeout(100);
  const size = await page.evaluate(() => {
    const c = document.querySelector('#pad');
    return [c.width, Math.round(c.getBoundingClientRect().width * devicePixelRatio)];
  });
  assert.equal(size[0], size[1], 'the backing store follows the CSS size');
  await page.click('#undo');
  await page.click('#clear');
  await drawMouse(page, DIGITS['6']);
  assert.equal(await waitPrediction(page), '6');
  assert.deepEqual(errors, []);
  await context.close();
});

test('a missing model is a visible message, drawing still works, and Retry recovers', async () => {
  const broken = await startServer({ block: ['model.onnx'] });
  const context = await env.browser.newContext(DESKTOP);
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.goto(broken.url);
  await page.waitForSelector('#status[data-state="error"]');
  assert.ok(await page.locator('#status').isVisible());
  assert.match(await page.locator('#status-text').textContent(), /model could not be loaded.*404/i);
  assert.ok(await page.locator('#retry').isVisible());
  await drawMouse(page, DIGITS['7']);
  await page.waitForFunction(() => document.querySelectorAll('#seen svg rect').length > 20);
  assert.equal(await predicted(page), '');
  assert.match(await page.locator('#confidence').textContent(), /no model/i);
  // The model is back (the network returned, a deploy finished): Retry loads it and the
  // drawing already on the pad is recognized.
  broken.options.block = [];
  await page.click('#retry');
  await page.waitForSelector('html.model-ready');
  assert.ok(await page.locator('#status').isHidden());
  await expectDigit(page, '7', 'after Retry');
  assert.deepEqual(pageErrors, []);
  await context.close();
  await broken.close();
});

test('a corrupt model (not ONNX) is a visible message, and drawing still works', async () => {
  const broken = await startServer({ replace: { 'model.onnx': Buffer.from('this is not an ONNX model') } });
  const context = await env.browser.newContext(DESKTOP);
  const page = await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  await page.goto(broken.url);
  await page.waitForSelector('#status[data-state="error"]');
  assert.match(await page.locator('#status-text').textContent(), /model could not be loaded.*model\.onnx/i);
  await drawMouse(page, DIGITS['3']);
  assert.equal(await strokes(page), 1);
  assert.deepEqual(pageErrors, []);
  await context.close();
  await broken.close();
});

// Valid ONNX models made for something else (tests/e2e/fixtures, written by
// crates/train/tests/models.rs): the page must say what is wrong, once, and keep drawing.
for (const [file, expected] of [
  ['colour-32x32.onnx', /input has shape N,3,32,32, expected \[N,1,28,28\]/],
  ['five-outputs.onnx', /model output has shape \[1, 5\], expected \[1, 10\]/],
]) {
  test(`a model for other images or classes (${file}) is a visible message, and drawing still works`, async () => {
    const bytes = fs.readFileSync(path.join(HERE, 'fixtures', file));
    const server = await startServer({ replace: { 'model.onnx': bytes } });
    const context = await env.browser.newContext(DESKTOP);
    const errors = await watch(context, server);
    const page = await context.newPage();
    await page.goto(server.url);
    await page.waitForSelector('#status[data-state="error"]');
    assert.match(await page.locator('#status-text').textContent(), expected);
    await drawMouse(page, DIGITS['3']);
    assert.equal(await strokes(page), 1);
    assert.equal(await predicted(page), '');
    assert.match(await page.locator('#confidence').textContent(), /no model/i);
    assert.deepEqual(errors, [], 'no console errors, not one per frame');
    await context.close();
    await server.close();
  });
}

test('the module with relaxed SIMD where the browser runs it, else the SIMD128 one: both read the same', async () => {
  // Each drawing's ten probabilities (the bars' data-p, six decimals) and the module loaded.
  const readAll = async (context) => {
    const errors = await watch(context, env.server);
    const page = await context.newPage();
    await page.goto(env.server.url);
    await page.waitForSelector('html.model-ready', { timeout: 30000 });
    const bars = {};
    for (const [digit, strokes] of Object.entries(DIGITS)) {
      await page.click('#clear');
      await drawMouse(page, strokes);
      assert.equal(await waitPrediction(page), digit, `drew a ${digit}`);
      bars[digit] = await page.$$eval('#chart svg rect[data-digit]', (rects) => rects.map((r) => Number(r.dataset.p)));
    }
    const wasm = await page.evaluate(() => ({
      choice: document.documentElement.dataset.wasm,
      files: performance.getEntriesByType('resource').map((e) => e.name).filter((n) => n.endsWith('.wasm.xz')),
    }));
    assert.deepEqual(errors, []);
    await context.close();
    return { bars, wasm };
  };
  // Chromium has relaxed SIMD: the page picks that build.
  const relaxed = await readAll(await env.browser.newContext(DESKTOP));
  assert.equal(relaxed.wasm.choice, 'relaxed-simd');
  assert.equal(relaxed.wasm.files.length, 1);
  assert.match(relaxed.wasm.files[0], /\/digits-web-relaxed-[0-9a-f]{16}_bg\.wasm\.xz$/);
  // As in a browser without it: WebAssembly.validate refuses any module with a relaxed-SIMD
  // instruction (opcode prefix 0xfd, then 0x100 and up, which is 0x80 0x02 in LEB128).
  const context = await env.browser.newContext(DESKTOP);
  await context.addInitScript(() => {
    const validate = WebAssembly.validate;
    WebAssembly.validate = (bytes) => {
      const b = new Uint8Array(bytes);
      for (let i = 0; i + 2 < b.length; i++) if (b[i] === 0xfd && b[i + 1] === 0x80 && b[i + 2] === 0x02) return false;
      return validate(bytes);
    };
  });
  const plain = await readAll(context);
  assert.equal(plain.wasm.choice, 'simd128');
  assert.equal(plain.wasm.files.length, 1);
  assert.match(plain.wasm.files[0], /\/digits-web-[0-9a-f]+_bg\.wasm\.xz$/);
  // Fused and unfused multiply-adds round differently, by far less than a display step.
  for (const digit of Object.keys(DIGITS)) {
    plain.bars[digit].forEach((p, i) => assert.ok(Math.abs(p - relaxed.bars[digit][i]) <= 1e-4, `${digit}: p(${i}) ${p} vs ${relaxed.bars[digit][i]}`));
  }
});

test('without WebAssembly the page says so', async () => {
  const context = await env.browser.newContext(DESKTOP);
  // As in a browser with WebAssembly turned off (some locked-down profiles do that).
  await context.addInitScript(() => { delete globalThis.WebAssembly; });
  const page = await context.newPage();
  await page.goto(env.server.url);
  assert.equal(await page.evaluate(() => typeof WebAssembly), 'undefined');
  await page.waitForTimeout(500);
  assert.ok(await page.locator('#status').isVisible());
  assert.match(await page.locator('#status-text').textContent(), /could not start: this browser has no WebAssembly/);
  await context.close();
});
