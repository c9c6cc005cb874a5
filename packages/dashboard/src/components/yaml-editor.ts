// A plain <textarea> with a line-number gutter: keyboard, selection, undo and screen readers work as in
// any text field. Lines with a problem are marked in the gutter by a symbol and a colour, and the
// problems are listed as "line N: message" buttons that put the caret on that line.
import { html } from 'htm/preact'
import { useRef } from 'preact/hooks'
import type { Problem } from '../api.js'

export interface YamlEditorProps {
  id: string
  label: string
  value: string
  onInput: (text: string) => void
  problems: Problem[]
  readOnly?: boolean
}

export function YamlEditor({ id, label, value, onInput, problems, readOnly }: YamlEditorProps) {
  const area = useRef<HTMLTextAreaElement>(null)
  const gutter = useRef<HTMLDivElement>(null)
  const lineCount = value.split('\n').length
  const bad = new Map<number, string[]>()
  for (const p of problems) if (p.line !== undefined) bad.set(p.line, [...(bad.get(p.line) ?? []), p.message])

  const goTo = (line: number): void => {
    const textarea = area.current
    if (!textarea) return
    const lines = textarea.value.split('\n')
    const offset = lines.slice(0, line - 1).reduce((sum, text) => sum + text.length + 1, 0)
    textarea.focus()
    textarea.setSelectionRange(offset, offset)
    const lineHeight = parseFloat(getComputedStyle(textarea).lineHeight) || 20
    textarea.scrollTop = Math.max(0, (line - 3) * lineHeight)
  }
  const syncScroll = (): void => {
    if (gutter.current && area.current) gutter.current.scrollTop = area.current.scrollTop
  }

  return html`<div class="yaml-editor">
    <label for=${id}>${label}</label>
    <div class="yaml-frame">
      <div class="yaml-gutter" ref=${gutter} aria-hidden="true">
        ${Array.from({ length: lineCount }, (_, i) => {
          const messages = bad.get(i + 1)
          return html`<div
            class=${messages ? 'gutter-line problem' : 'gutter-line'}
            data-line=${i + 1}
            title=${messages?.join('\n')}
          >
            ${messages ? '✖ ' : ''}${i + 1}
          </div>`
        })}
      </div>
      <textarea
        id=${id}
        ref=${area}
        value=${value}
        spellcheck=${false}
        autocapitalize="off"
        autocomplete="off"
        wrap="off"
        rows=${Math.min(30, Math.max(12, lineCount + 1))}
        readonly=${readOnly}
        aria-describedby=${`${id}-problems`}
        aria-invalid=${problems.length > 0 ? 'true' : undefined}
        onInput=${(e: Event) => onInput((e.target as HTMLTextAreaElement).value)}
        onScroll=${syncScroll}
      ></textarea>
    </div>
    <div id=${`${id}-problems`} class="yaml-problems" aria-live="polite">
      ${
        problems.length > 0
          ? html`<p><strong>✖ ${problems.length} problem${problems.length === 1 ? '' : 's'}</strong></p>
              <ul>
                ${problems.map(
                  (p) =>
                    html`<li data-line=${p.line}>
                      ${
                        p.line !== undefined
                          ? html`<button
                                type="button"
                                class="link"
                                title=${p.column !== undefined ? `column ${p.column}` : undefined}
                                onClick=${() => goTo(p.line!)}
                              >
                                line ${p.line}</button
                              >: ${p.message}`
                          : html`${p.path ? `${p.path}: ` : ''}${p.message}`
                      }
                    </li>`,
                )}
              </ul>`
          : null
      }
    </div>
  </div>`
}
