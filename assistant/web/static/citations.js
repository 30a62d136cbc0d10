window.__nguonTrigger = trigger;
if (!window.__nguonBound) {
  window.__nguonBound = true;
  document.addEventListener('click', (event) => {
    const link = event.target.closest ? event.target.closest('a[href*="#nguon-"]') : null;
    const m = link ? (link.getAttribute('href') || '').match(/#nguon-(\d+)-(\d+)$/) : null;
    if (!m) return;
    event.preventDefault();
    event.stopPropagation();
    window.__nguonTrigger('cite', {turn: Number(m[1]), n: Number(m[2])});
  }, true);
}
