// The charts' own CSS (uPlot's stylesheet is loaded beside it): theme variables for light and dark,
// layout that follows the page width, and print rules (no toggles, charts kept whole on a page).
namespace GauntletCharts {
  const css = `
.gc-charts { --gc-fg: #1d1d1f; --gc-grid: rgba(0,0,0,0.09); --gc-fault: rgba(201,48,44,0.18);
  --gc-limited: rgba(110,110,110,0.22); --gc-step: rgba(90,90,90,0.85); color: var(--gc-fg); }
@media (prefers-color-scheme: dark) {
  .gc-charts { --gc-fg: #e6e6e6; --gc-grid: rgba(255,255,255,0.12); --gc-fault: rgba(255,99,92,0.22);
    --gc-limited: rgba(200,200,200,0.18); --gc-step: rgba(200,200,200,0.8); }
}
.gc-chart { margin: 0 0 1.2rem; break-inside: avoid; page-break-inside: avoid; min-width: 0; }
.gc-chart figcaption { font-weight: 600; margin: 0 0 0.3rem; display: flex; gap: 1rem; flex-wrap: wrap; }
.gc-chart figcaption label { font-weight: 400; }
.gc-key { list-style: none; padding: 0; margin: 0 0 1rem; display: flex; flex-wrap: wrap; gap: 0.4rem 1.2rem;
  font-size: 0.85rem; }
.gc-swatch { display: inline-block; width: 1.4rem; height: 0.9rem; vertical-align: middle; margin-right: 0.3rem;
  box-sizing: border-box; }
.gc-charts .u-legend { font-size: 0.8rem; color: var(--gc-fg); }
.gc-charts .u-legend .u-marker { width: 1.2em; }
@media print {
  .gc-charts { --gc-fg: #000; --gc-grid: rgba(0,0,0,0.15); --gc-fault: rgba(201,48,44,0.18);
    --gc-limited: rgba(110,110,110,0.25); --gc-step: #444; }
  .gc-toggle { display: none; } .gc-chart { margin-bottom: 0.6rem; }
}
`

  /** Adds the stylesheet once per document. */
  export function injectStyles(doc: Document): void {
    if (doc.getElementById('gauntlet-charts-css')) return
    const style = doc.createElement('style')
    style.id = 'gauntlet-charts-css'
    style.textContent = css
    doc.head.appendChild(style)
  }
}
