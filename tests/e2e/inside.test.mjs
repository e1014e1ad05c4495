// "Inside the network", in a real headless Chromium: drawn with real mouse and touch events,
// every layer of the CNN shows maps with the right channel counts, the filters sit beside their
// maps, both networks answer, the robustness strip and the occlusion map appear when the pen
// lifts; the report section checks the plain network too and compares the two.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  shared, open, drawMouse, drawTouch, numberStrokes, expectDigit, expectNumber, DIGITS, PHONE,
  DESKTOP, OUT, ROOT,
} from './harness.mjs';

const env = shared();
const report = (name) => JSON.parse(fs.readFileSync(path.join(ROOT, `web/assets/${name}.report.json`), 'utf8'));
const CNN = report('model');
const MLP = report('mlp');

// The shipped CNN's shown layers: the input, each ReLU and pooling, how sure it is of one digit
// (its doubt output), the scores times that, the answer.
const LAYERS = [
  ['image', 1], ['Relu', 16], ['MaxPool', 16], ['Relu', 32], ['Relu', 32], ['MaxPool', 32],
  ['Relu', 64], ['GlobalAveragePool', 64], ['Sigmoid', 1], ['Mul', 10], ['Softmax', 10],
];

/** The layers shown: [{layer, op, channels, inked, painted}], `inked` whether the canvas has
 * colour, `painted` whether every pixel of it is drawn (opaque). */
const layers = (page) => page.$$eval('#layers [data-layer]', (els) => els.map((e) => {
  const c = e.querySelector('canvas');
  const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let inked = false;
  let painted = px.length > 0;
  for (let i = 0; i < px.length; i += 4) {
    if (px[i] < 200 || px[i + 2] < 200) inked = true;
    if (px[i + 3] !== 255) painted = false;
  }
  return { layer: e.dataset.layer, op: e.dataset.op, channels: Number(e.dataset.channels), inked, painted, w: c.width, h: c.height };
}));

const answers = (page) => page.evaluate(() => ({
  cnn: document.querySelector('#compare [data-model="cnn"]').dataset.digit,
  mlp: document.querySelector('#compare [data-model="mlp"]').dataset.digit,
}));

/** Waits until both networks answer, the CNN `digit`, for the digit in focus. The section works
 * only on screen, so it is scrolled into view first, as a user would. */
async function expectAnswers(page, digit, message) {
  await page.locator('#compare').scrollIntoViewIfNeeded();
  try {
    await page.waitForFunction((d) => {
      const get = (m) => document.querySelector(`#compare [data-model="${m}"]`).dataset.digit;
      return get('cnn') === d && get('mlp') !== '';
    }, digit, { timeout: 15000 });
  } catch {
    throw new Error(`${message}: expected the CNN to answer ${digit}, #compare shows ${JSON.stringify(await answers(page))}`);
  }
}

/** Waits for the end-of-stroke views of the answer `digit`, and checks them. */
async function expectSettled(page, digit, message) {
  await page.waitForFunction((d) => document.querySelector('#saliency').dataset.digit === d, digit, { timeout: 15000 })
    .catch(() => { throw new Error(`${message}: no occlusion map for ${digit}`); });
  const runs = Number(await page.locator('#saliency').getAttribute('data-runs'));
  assert.ok(runs > 5 && runs <= 170, `${message}: ${runs} readings`);
  const variants = await page.$$eval('#robustness [data-variant]', (els) => els.map((e) => [e.dataset.variant, e.dataset.cnn, e.dataset.mlp]));
  assert.deepEqual(variants.map((v) => v[0]), ['shift-left', 'shift-right', 'shift-up', 'shift-down', 'rotate-left', 'rotate-right', 'thicker', 'thinner'], message);
  for (const [v, c, m] of variants) {
    assert.match(c, /^[0-9]$/, `${message}: ${v}: the CNN answers`);
    assert.match(m, /^[0-9]$/, `${message}: ${v}: the plain network answers`);
  }
  return variants;
}

async function checkLayers(page, message) {
  const shown = await layers(page);
  assert.deepEqual(shown.map((l) => [l.layer === 'image' ? 'image' : l.op, l.channels]), LAYERS, message);
  assert.equal(shown.at(-1).layer, 'probabilities');
  for (const l of shown) {
    assert.ok(l.w > 0 && l.h > 0, `${message}: ${l.layer} has a canvas`);
    assert.ok(l.painted, `${message}: ${l.layer} is painted`);
    // The doubt output's one value is shaded on its own 0-to-1 scale: a drawing the network
    // doubts is one digit (a stroke caught half drawn, or a clean digit it doubts) shows nearly
    // white, as it should. Every other layer is shaded on its own largest value.
    if (l.op !== 'Sigmoid') assert.ok(l.inked, `${message}: ${l.layer} shows something`);
  }
  // The 16 filters, each beside its map.
  assert.equal(await page.locator('#filters').getAttribute('data-filters'), '16');
  assert.equal(await page.locator('#filters canvas').count(), 1);
}

test('mouse on a desktop: every layer, both networks, the robustness strip and the occlusion map', async () => {
  const { context, page, errors } = await open(env.browser, env.server, DESKTOP);
  assert.equal((await answers(page)).cnn, '', 'nothing drawn, no answer');
  // Off screen the section computes nothing: drawing with it out of view leaves it as it was.
  await page.setViewportSize({ width: 1280, height: 600 });
  await drawMouse(page, DIGITS['3']);
  await expectDigit(page, '3', 'drew a 3');
  assert.equal(await page.locator('#inside').evaluate((e) => e.getBoundingClientRect().top > innerHeight), true);
  assert.equal((await answers(page)).cnn, '', 'off screen: not computed');
  await page.setViewportSize({ width: 1280, height: 900 });
  await expectAnswers(page, '3', 'scrolled to the section');
  for (const d of ['4', '7', '0']) {
    await page.click('#clear');
    await drawMouse(page, DIGITS[d]);
    await expectDigit(page, d, `drew a ${d}`);
    await expectAnswers(page, d, `drew a ${d}`);
    await checkLayers(page, `drew a ${d}`);
    const variants = await expectSettled(page, d, `drew a ${d}`);
    // A small shift leaves the CNN's answer as it was.
    assert.equal(variants[0][1], d, `${d} moved left: the CNN still reads it`);
  }
  await page.locator('#inside').screenshot({ path: path.join(OUT, 'desktop-inside.png') });
  // Clear: the answers and the end-of-stroke views go.
  await page.click('#clear');
  await page.locator('#compare').scrollIntoViewIfNeeded();
  await page.waitForFunction(() => document.querySelector('#compare [data-model="cnn"]').dataset.digit === '');
  assert.equal(await page.locator('#robustness [data-variant]').count(), 0);
  assert.equal(await page.locator('#saliency').getAttribute('data-digit'), '');
  // In a number, the views follow the digit in focus: the last written, or the one tapped.
  await drawMouse(page, numberStrokes('38'));
  await expectNumber(page, '38', 'wrote 38');
  await expectAnswers(page, '8', '38, the 8 written last');
  await page.locator('#boxes [data-digit-index="0"] .tag').click();
  await expectAnswers(page, '3', '38, the 3 tapped');
  await expectSettled(page, '3', '38, the 3 tapped');
  assert.deepEqual(errors, []);
  await context.close();
});

test('touch on a phone: the section is one column, fits the screen, and follows the finger', async () => {
  for (const width of [390, 320]) {
    const { context, page, errors } = await open(env.browser, env.server, { ...PHONE, viewport: { width, height: 800 } });
    await drawTouch(page, DIGITS['2']);
    await expectDigit(page, '2', `${width} px: drew a 2`);
    await expectAnswers(page, '2', `${width} px: drew a 2`);
    await checkLayers(page, `${width} px`);
    await expectSettled(page, '2', `${width} px`);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `${width} px: the page is ${overflow} px wider than the screen`);
    await page.locator('#inside').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(OUT, `phone-${width}-inside.png`) });
    assert.deepEqual(errors, []);
    await context.close();
  }
});

test('the report checks the plain network too and sets it beside the CNN, with both histories', async () => {
  const { context, page, errors } = await open(env.browser, env.server, DESKTOP);
  await page.locator('#report').scrollIntoViewIfNeeded();
  await page.waitForFunction(() => document.querySelector('#versus-table tr[data-model="mlp"]')?.dataset.accuracy, null, { timeout: 120000 });
  const rows = await page.$$eval('#versus-table tr[data-model]', (trs) => trs.map((tr) => [tr.dataset.model, Number(tr.dataset.accuracy)]));
  // The browser's own check gives exactly the trainers' figures.
  assert.deepEqual(rows, [['cnn', CNN.accuracy], ['mlp', MLP.accuracy]]);
  assert.ok(MLP.accuracy >= 0.983, `the plain network reaches ${MLP.accuracy}`);
  const table = await page.locator('#versus-table').textContent();
  const grouped = (n) => n.toLocaleString('en-US');
  assert.ok(table.includes(grouped(MLP.parameters)) && table.includes(grouped(CNN.parameters)), table);
  for (const id of ['confusion-cnn', 'confusion-mlp']) {
    assert.equal(await page.locator(`#${id} [data-true]`).count(), 100, id);
  }
  const mlpCells = await page.$$eval('#confusion-mlp [data-true]', (cs) => cs.map((c) => Number(c.dataset.count)));
  assert.equal(mlpCells.reduce((a, b) => a + b, 0), 10000);
  const lines = await page.$$eval('#history polyline', (ps) => ps.map((p) => [p.dataset.model, p.dataset.series, p.getAttribute('points').split(' ').length]));
  for (const [model, r] of [['cnn', CNN], ['mlp', MLP]]) {
    assert.deepEqual(lines.find((l) => l[0] === model && l[1] === 'loss'), [model, 'loss', r.history.length]);
    assert.deepEqual(lines.find((l) => l[0] === model && l[1] === 'test'), [model, 'test', r.history.length]);
  }
  await page.locator('#versus-table').scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(OUT, 'desktop-versus.png') });
  assert.deepEqual(errors, []);
  await context.close();
});
