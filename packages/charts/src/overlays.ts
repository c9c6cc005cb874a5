// What every time chart carries besides its series: fault intervals and generator-limited seconds as
// bands under the series, step boundaries and decision marks as labelled vertical lines over them. A
// uPlot plugin drawing on uPlot's own canvas, in data coordinates.
namespace GauntletCharts {
  export function overlayPlugin(getData: () => ChartData, theme: () => Theme): import('uplot').Plugin {
    return {
      hooks: {
        drawClear: (u) => withPlot(u, (ctx) => drawBands(u, ctx, getData(), theme())),
        draw: (u) => withPlot(u, (ctx) => drawLines(u, ctx, getData(), theme())),
      },
    }
  }

  function withPlot(u: import('uplot'), draw: (ctx: CanvasRenderingContext2D) => void): void {
    const { ctx, bbox } = u
    ctx.save()
    ctx.beginPath()
    ctx.rect(bbox.left, bbox.top, bbox.width, bbox.height)
    ctx.clip()
    draw(ctx)
    ctx.restore()
  }

  const px = (n: number): number => n * (window.devicePixelRatio || 1)
  const xPos = (u: import('uplot'), s: number): number => u.valToPos(s, 'x', true)

  function drawBands(u: import('uplot'), ctx: CanvasRenderingContext2D, data: ChartData, theme: Theme): void {
    const { top, height } = u.bbox
    const s = data.seconds
    // Generator-limited seconds: grey, behind everything; the overlay key names it.
    ctx.fillStyle = theme.limited
    s.t.forEach((t, i) => {
      if (s.generatorLimited[i] !== 1) return
      const x0 = xPos(u, t)
      ctx.fillRect(x0, top, Math.max(1, xPos(u, t + 1) - x0), height)
    })
    const runEnd = s.t.length > 0 ? s.t[s.t.length - 1]! + 1 : 0
    data.faults.forEach((f, i) => {
      const applied = f.startS !== null
      const x0 = xPos(u, f.startS ?? f.plannedStartS)
      const x1 = xPos(u, f.endS ?? (applied ? runEnd : f.plannedEndS))
      if (applied) {
        ctx.fillStyle = hatchPattern(ctx, theme.fault, 'back')
        ctx.fillRect(x0, top, x1 - x0, height)
      }
      ctx.strokeStyle = '#c9302c'
      ctx.lineWidth = px(1)
      ctx.setLineDash(applied ? [] : [px(4), px(4)])
      ctx.strokeRect(x0, top, x1 - x0, height)
      ctx.setLineDash([])
      label(ctx, theme, faultLabel(f), x0 + px(3), top + px(12 + 12 * (i % 2)))
    })
  }

  function drawLines(u: import('uplot'), ctx: CanvasRenderingContext2D, data: ChartData, theme: Theme): void {
    const { top, height } = u.bbox
    for (const step of data.steps) {
      const x = xPos(u, step.startS)
      line(ctx, x, top, height, theme.step, [px(3), px(3)])
      label(ctx, theme, `S${step.index + 1} ${step.plannedRps} rps`, x + px(3), top + height - px(4))
    }
    data.marks.forEach((m, i) => {
      const style = markStyles[m.kind]
      const x = xPos(u, m.atS)
      line(ctx, x, top, height, style.color, style.dash.map(px), 2)
      label(ctx, theme, m.kind, x + px(3), top + px(36 + 12 * (i % 3)))
    })
  }

  export function faultLabel(f: FaultSpan): string {
    const where = f.injector ? ` ${f.injector}` : ''
    return `${f.id} (${f.type} via ${f.mechanism}${where})${f.startS === null ? ' not applied' : ''}`
  }

  function line(
    ctx: CanvasRenderingContext2D,
    x: number,
    top: number,
    height: number,
    color: string,
    dash: number[],
    width = 1,
  ): void {
    ctx.strokeStyle = color
    ctx.lineWidth = px(width)
    ctx.setLineDash(dash)
    ctx.beginPath()
    ctx.moveTo(x, top)
    ctx.lineTo(x, top + height)
    ctx.stroke()
    ctx.setLineDash([])
  }

  function label(ctx: CanvasRenderingContext2D, theme: Theme, text: string, x: number, y: number): void {
    ctx.font = `${px(10)}px system-ui, sans-serif`
    // uPlot leaves the alignment of its last axis label on the context.
    ctx.textAlign = 'left'
    ctx.textBaseline = 'alphabetic'
    ctx.fillStyle = theme.fg
    ctx.fillText(text, x, y)
  }
}
