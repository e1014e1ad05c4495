// Loads the trainer's module (the second wasm module, crates/train-web) only when it is needed,
// so that nothing of it is downloaded before the page's first prediction: when "Train your
// own" or "Teach it your handwriting" comes into view, when the pad is first touched (to offer
// corrections under it), or at once when a personal model is kept on this device (the pad
// reads with it).
let loading;
function load() {
  loading ??= (async () => {
    const trainer = await import(new URL('digits-train-web.js', document.baseURI).href);
    await trainer.default();
    trainer.open_personal();
    return trainer;
  })();
  return loading;
}

function failed(id, e) {
  const message = document.getElementById(id);
  message.dataset.kind = 'error';
  message.textContent = `The trainer could not load (${e.message ?? e}). Reload the page to try again.`;
}

function whenSeen(id, then) {
  const section = document.getElementById(id);
  if (!section || !('IntersectionObserver' in self)) return;
  const observer = new IntersectionObserver((entries) => {
    if (!entries.some((e) => e.isIntersecting)) return;
    observer.disconnect();
    then();
  }, { rootMargin: '200px' });
  observer.observe(section);
}

whenSeen('train', async () => {
  const message = document.getElementById('train-message');
  message.textContent = 'Loading the trainer…';
  try {
    (await load()).open_training();
    message.textContent = 'Ready: choose a network and press Start training.';
  } catch (e) {
    failed('train-message', e);
  }
});
whenSeen('personal', () => load().catch((e) => failed('personal-message', e)));
document.getElementById('pad')?.addEventListener('pointerdown', () => {
  load().catch((e) => failed('personal-message', e));
}, { once: true });
try {
  if (localStorage.getItem('digits-personal-model')) load().catch((e) => failed('personal-message', e));
} catch {
  // No storage (a locked-down browser): the module loads when it is needed.
}
