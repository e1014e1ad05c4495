// One check worker: its own single-threaded session, one slice of the test set.
import { session, testSet, classify } from './common.mjs';

onmessage = async ({ data: { first, count, batch } }) => {
  const [s, test] = await Promise.all([session(), testSet()]);
  postMessage(await classify(s, test.images, first, count, batch));
};
