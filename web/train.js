// Loads "Train your own" (the second wasm module, crates/train-web) only when its section comes
// into view, so that nothing of it is downloaded before the page's first prediction.
const section = document.getElementById('train');
if (section && 'IntersectionObserver' in self) {
  const observer = new IntersectionObserver(async (entries) => {
    if (!entries.some((e) => e.isIntersecting)) return;
    observer.disconnect();
    const message = document.getElementById('train-message');
    message.textContent = 'Loading the trainer…';
    try {
      const trainer = await import(new URL('digits-train-web.js', document.baseURI).href);
      await trainer.default();
      trainer.open_training();
      message.textContent = 'Ready: choose a network and press Start training.';
    } catch (e) {
      message.dataset.kind = 'error';
      message.textContent = `The trainer could not load (${e.message ?? e}). Reload the page to try again.`;
    }
  }, { rootMargin: '200px' });
  observer.observe(section);
}
