// The key to what the bands and lines mean, above the charts: words and line patterns, not colour only.
namespace GauntletCharts {
  export function overlayKey(doc: Document, data: ChartData): HTMLElement {
    const list = doc.createElement('ul')
    list.className = 'gc-key'
    const item = (swatch: string, text: string): void => {
      const li = doc.createElement('li')
      const mark = doc.createElement('span')
      mark.className = 'gc-swatch'
      mark.setAttribute('style', swatch)
      li.append(mark, text)
      list.appendChild(li)
    }
    item('border-left: 1px dashed var(--gc-step)', 'step boundary (S<n> planned rps)')
    if (data.seconds.generatorLimited.some((v) => v === 1)) item('background: var(--gc-limited)', 'generator-limited')
    for (const f of data.faults)
      item('background: var(--gc-fault); border: 1px solid #c9302c', `fault ${faultLabel(f)}`)
    const kinds = [...new Set(data.marks.map((m) => m.kind))]
    for (const kind of kinds) {
      const style = markStyles[kind]
      const pattern = style.dash.length === 0 ? 'solid' : style.dash[0]! <= 2 ? 'dotted' : 'dashed'
      item(`border-left: 2px ${pattern} ${style.color}`, `decision: ${kind}`)
    }
    return list
  }
}
