// Whole numbers on the pad, in a real headless Chromium: written with real mouse and touch
// events, read live, a box around each digit with its guess, the digit in focus shown in the
// panels; Undo and Clear still work; the pad never moves under the finger.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  shared, open, drawMouse, drawTouch, numberStrokes, readNumber, digitBoxes, expectNumber,
  predicted, strokes, padBox, PHONE, DESKTOP, OUT,
} from './harness.mjs';

const env = shared();

/** The digit with the tallest bar in the probability chart. */
const chartBest = (page) => page.$$eval('#chart svg rect[data-digit]', (rs) =>
  rs.reduce((a, r) => (Number(r.dataset.p) > Number(a.dataset.p) ? r : a)).dataset.digit);

/** The boxes go left to right, each inside the pad, with the digits of `number`. */
async function checkBoxes(page, number) {
  const boxes = await digitBoxes(page);
  assert.deepEqual(boxes.map((b) => b.digit).join(''), number);
  assert.deepEqual(boxes.map((b) => b.index), [...number].map((_, i) => i));
  const pad = await page.locator('#pad').boundingBox();
  for (let i = 0; i < boxes.length; i++) {
    const [x, y, w, h] = boxes[i].box;
    assert.ok(w > 4 && h > 20, `box ${i}: ${boxes[i].box}`);
    assert.ok(x >= -8 && y >= -8 && x + w <= pad.width + 8 && y + h <= pad.height + 8, `box ${i} on the pad`);
    if (i > 0) assert.ok(x > boxes[i - 1].box[0], 'left to right');
  }
  // Each box is drawn: a visible frame and a tag with the guess.
  assert.equal(await page.locator('#boxes .digit-box').count(), number.length);
  assert.deepEqual(await page.locator('#boxes .tag text').allTextContents(), [...number]);
  return boxes;
}

test('mouse on a desktop: numbers read live with a box per digit; tap and hover choose the digit shown', async () => {
  const { context, page, errors } = await open(env.browser, env.server, DESKTOP);
  assert.equal(await readNumber(page), '', 'an empty pad reads no number');
  for (const number of ['2026', '4719', '38015', '17']) {
    await page.click('#clear');
    await expectNumber(page, '', 'cleared');
    assert.equal(await page.locator('#boxes .digit-box').count(), 0, 'no boxes on an empty pad');
    await drawMouse(page, numberStrokes(number));
    await expectNumber(page, number, `wrote ${number}`);
    assert.equal(await predicted(page), '', 'data-digit is empty for more than one digit');
    await checkBoxes(page, number);
    // By default the panels show the digit written last.
    assert.match(await page.locator('#seen-caption').textContent(), new RegExp(`digit ${number.length} of ${number.length}`));
    assert.equal(await page.locator('#boxes .focus').getAttribute('data-digit-index'), String(number.length - 1));
  }
  await page.screenshot({ path: path.join(OUT, 'desktop-number.png') });

  // 17 is on the pad. Tapping the 1's tag shows the 1: its bar is the tallest in the chart.
  await page.locator('#boxes [data-digit-index="0"] .tag').click();
  assert.match(await page.locator('#seen-caption').textContent(), /digit 1 of 2/);
  assert.match(await page.locator('#chart-caption').textContent(), /digit 1 of 2/);
  assert.equal(await chartBest(page), '1');
  assert.equal(await page.locator('#prediction .digit button.focus').textContent(), '1');
  // Hovering the 7's box shows the 7; clicking a digit of the number shows it too.
  const [, seven] = await digitBoxes(page);
  const pad = await page.locator('#pad').boundingBox();
  await page.mouse.move(pad.x + seven.box[0] + seven.box[2] / 2, pad.y + seven.box[1] + seven.box[3] / 2);
  await page.waitForFunction(() => document.querySelector('#boxes .focus')?.dataset.digitIndex === '1');
  assert.equal(await chartBest(page), '7');
  await page.locator('#prediction .digit button[data-i="0"]').click();
  assert.equal(await page.locator('#boxes .focus').getAttribute('data-digit-index'), '0');
  assert.equal(await strokes(page), 2, 'tapping and hovering drew nothing');

  // Undo takes the last stroke (the 7), Clear the rest; a lone digit reads as before.
  await page.click('#undo');
  await expectNumber(page, '1', 'undo');
  assert.equal(await predicted(page), '1', 'one digit: data-digit is that digit');
  assert.match(await page.locator('#confidence').textContent(), /% sure$/);
  await page.click('#clear');
  await expectNumber(page, '', 'clear');
  assert.equal(await page.locator('#boxes .digit-box').count(), 0);
  assert.deepEqual(errors, []);
  await context.close();
});

/** The caption's "NN.N% sure" as a probability, and the chart's tallest bar's. */
async function sureAndChart(page) {
  const caption = await page.locator('#confidence').textContent();
  const sure = Number(caption.match(/([\d.]+)% sure/)[1]) / 100;
  const best = await page.$$eval('#chart svg rect[data-digit]', (rs) =>
    Math.max(...rs.map((r) => Number(r.dataset.p))));
  return { caption, sure, best };
}

test('a number written in one go that reads as one digit: how sure the network is, and that it may not be one digit', async () => {
  const { context, page, errors } = await open(env.browser, env.server, DESKTOP);
  // "11" written in one go, as an N: the network reads a 4 and is sure of it; the doubt
  // output doubts it is one digit, and the page says so apart from how sure it is.
  await drawMouse(page, [[[0.35, 0.75], [0.4, 0.25], [0.55, 0.75], [0.6, 0.25]]]);
  await expectNumber(page, '4', 'an N reads as a 4');
  let { caption, sure, best } = await sureAndChart(page);
  assert.match(caption, /^[\d.]+% sure$/);
  assert.ok(await page.locator('#doubt').isVisible(), 'the doubt is said beside the number');
  assert.equal(await page.locator('#doubt').textContent(), 'may not be one digit');
  assert.ok(sure > 0.9, caption);
  assert.ok(Math.abs(best - sure) < 0.001, `the chart shows what the caption says: ${best} vs ${caption}`);
  // A lone 1: no doubt said, and the chart agrees with the caption.
  await page.click('#clear');
  await drawMouse(page, [[[0.5, 0.25], [0.5, 0.75]]]);
  await expectNumber(page, '1', 'a lone 1');
  ({ caption, sure, best } = await sureAndChart(page));
  assert.match(caption, /^[\d.]+% sure$/);
  assert.ok(Math.abs(best - sure) < 0.001, `${best} vs ${caption}`);
  assert.ok(!(await page.locator('#doubt').isVisible()), 'no doubt said for a lone 1');
  assert.deepEqual(errors, []);
  await context.close();
});

for (const [name, device, scale] of [
  ['a phone in portrait', PHONE, 0.62],
  ['a 320-pixel-wide phone', { ...PHONE, viewport: { width: 320, height: 640 } }, 0.55],
]) {
  test(`touch on ${name}: the number is read as it is written and stays in view; the pad never moves`, async () => {
    const { context, page, errors } = await open(env.browser, env.server, device);
    const before = await padBox(page);
    const all = numberStrokes('2026', { scale });
    const expected = ['2', '20', '202', '2026'];
    // One digit at a time (each digit of digits.json is one stroke here): the number so far.
    for (let i = 0; i < all.length; i++) {
      await drawTouch(page, [all[i]]);
      await expectNumber(page, expected[i], `after stroke ${i + 1}`);
      const card = await page.locator('#prediction').boundingBox();
      const inView = await page.evaluate(() => window.innerHeight);
      assert.ok(card.y >= 0 && card.y + card.height <= inView, `the number is in view (${card.y}, ${card.height})`);
      assert.deepEqual(await page.locator('#pad').boundingBox(), before, 'the pad stayed where the finger is');
    }
    await checkBoxes(page, '2026');
    // How sure of the digit in focus fits on the phone, not cut with an ellipsis.
    assert.match(await page.locator('#confidence').textContent(), /^digit 4: 6, [\d.]+% sure$/);
    assert.ok(await page.$eval('#confidence', (e) => e.scrollWidth <= e.clientWidth), 'the caption fits');
    await page.screenshot({ path: path.join(OUT, `phone-number-${device.viewport.width}.png`) });
    await page.click('#undo');
    await expectNumber(page, '202', 'undo');
    await page.click('#clear');
    await expectNumber(page, '', 'clear');
    assert.deepEqual(errors, []);
    await context.close();
  });
}

test('the live-update hook times a five-digit number', async () => {
  const { context, page, errors } = await open(env.browser, env.server, DESKTOP);
  assert.ok(Number.isNaN(await page.evaluate(() => window.wasmBindings.benchmark_live(3))), 'nothing drawn');
  await drawMouse(page, numberStrokes('38015'));
  await expectNumber(page, '38015');
  const ms = await page.evaluate(() => window.wasmBindings.benchmark_live(20));
  assert.ok(ms > 0 && ms < 1000, `${ms} ms`);
  await expectNumber(page, '38015', 'timing leaves the answer as it was');
  assert.deepEqual(errors, []);
  await context.close();
});
