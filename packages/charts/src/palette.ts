// Colours that read on a light and a dark background alike, and a second signal for each series (dash
// pattern, hatch): colour is never the only way to tell two series apart, on screen or printed in grey.
namespace GauntletCharts {
  export const seriesStyles = {
    p50: { color: '#2f7ed8', width: 1.5 },
    p90: { color: '#e08a00', dash: [6, 3], width: 1.5 },
    p99: { color: '#c9302c', dash: [2, 2], width: 2 },
    planned: { color: '#7a7a7a', dash: [8, 4], width: 1.5 },
    achieved: { color: '#2f9e44', width: 1.5 },
    connections: { color: '#8e44ad', width: 1.5 },
    metric: { color: '#1f8a8a', width: 1.5 },
  } satisfies Record<string, SeriesStyle>

  export const errorClassStyles: Record<string, SeriesStyle> = {
    timeout: { color: '#c9302c', hatch: 'diagonal' },
    refused: { color: '#e08a00', hatch: 'cross' },
    reset: { color: '#8e44ad', hatch: 'dots' },
    tls: { color: '#5c3c00', hatch: 'cross' },
    check: { color: '#2f9e44', hatch: 'diagonal' },
    other: { color: '#7a7a7a', hatch: 'horizontal' },
    '4xx': { color: '#2f7ed8', hatch: 'vertical' },
    '5xx': { color: '#b8336a', hatch: 'back' },
    '3xx': { color: '#1f8a8a', hatch: 'none' },
  }

  /** Decision marks: each kind its own dash pattern and a text label on the chart. */
  export const markStyles: Record<DecisionMark['kind'], { color: string; dash: number[] }> = {
    advance: { color: '#2f9e44', dash: [] },
    hold: { color: '#e08a00', dash: [4, 4] },
    trip: { color: '#c9302c', dash: [] },
    clear: { color: '#2f7ed8', dash: [2, 3] },
    rollback: { color: '#b8336a', dash: [10, 3, 2, 3] },
    stop: { color: '#7a7a7a', dash: [10, 3] },
    'dry-run': { color: '#7a7a7a', dash: [1, 3] },
  }

  /** Theme colours from the page's CSS (custom properties the chart styles set for light and dark). */
  export interface Theme {
    fg: string
    grid: string
    fault: string
    limited: string
    step: string
  }

  export function readTheme(element: HTMLElement): Theme {
    const css = getComputedStyle(element)
    const get = (name: string, fallback: string): string => css.getPropertyValue(name).trim() || fallback
    return {
      fg: get('--gc-fg', '#222'),
      grid: get('--gc-grid', 'rgba(128,128,128,0.25)'),
      fault: get('--gc-fault', 'rgba(201,48,44,0.14)'),
      limited: get('--gc-limited', 'rgba(128,128,128,0.22)'),
      step: get('--gc-step', 'rgba(128,128,128,0.8)'),
    }
  }

  /** A small repeating pattern of lines in `color` over a faint fill of it (stacked areas, fault bands). */
  export function hatchPattern(
    ctx: CanvasRenderingContext2D,
    color: string,
    hatch: SeriesStyle['hatch'],
  ): CanvasPattern | string {
    const size = 8 * (window.devicePixelRatio || 1)
    const tile = document.createElement('canvas')
    tile.width = size
    tile.height = size
    const t = tile.getContext('2d')
    if (!t) return color
    t.fillStyle = color
    t.globalAlpha = 0.35
    t.fillRect(0, 0, size, size)
    t.globalAlpha = 1
    t.strokeStyle = color
    t.fillStyle = color
    t.lineWidth = size / 8
    const line = (x1: number, y1: number, x2: number, y2: number): void => {
      t.beginPath()
      t.moveTo(x1, y1)
      t.lineTo(x2, y2)
      t.stroke()
    }
    if (hatch === 'diagonal' || hatch === 'cross') line(0, size, size, 0)
    if (hatch === 'back' || hatch === 'cross') line(0, 0, size, size)
    if (hatch === 'horizontal') line(0, size / 2, size, size / 2)
    if (hatch === 'vertical') line(size / 2, 0, size / 2, size)
    if (hatch === 'dots') t.fillRect(size / 2 - size / 8, size / 2 - size / 8, size / 4, size / 4)
    return ctx.createPattern(tile, 'repeat') ?? color
  }
}
