/**
 * GitHub-flavoured Markdown building blocks for reports read as CI job summaries. Anything a user wrote
 * (scenario names, targets, guard names, reasons, URLs) goes through `md()`: it stays text, whatever it
 * contains, so it can neither break a table nor add markup, HTML or a link.
 */

// Characters that start inline markup: code, emphasis, strikethrough, links/images, HTML, entities, math, table cells.
const inlineMarkup = /[\\`*_~[\]<>&|$]/g
// A line-start marker (heading, list, quote, setext underline, ordered list) once a cell or item starts with it.
const blockStart = /^(\s*)([#+\-=>]|\d+[.)])/

/** User text as literal Markdown on one line: markup escaped, line breaks and control characters made spaces. */
export function md(text: string): string {
  const oneLine = text
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ')
    .trim()
  return oneLine
    .replace(inlineMarkup, (c) => `\\${c}`)
    .replace(blockStart, (_all, space: string, marker: string) => `${space}${marker.replace(/[#+\-=>.)]/, '\\$&')}`)
}

/** A GFM table: a header row, the delimiter row, one row per entry; cells are Markdown already (escape with md()). */
export function table(
  header: readonly string[],
  rows: ReadonlyArray<readonly string[]>,
  align?: readonly Align[],
): string {
  const line = (cells: readonly string[]): string => `| ${cells.map((c) => c || ' ').join(' | ')} |`
  const rule = header.map((_, i) => ({ left: '---', right: '--:', center: ':-:' })[align?.[i] ?? 'left'])
  return [line(header), line(rule), ...rows.map(line)].join('\n')
}
export type Align = 'left' | 'right' | 'center'

/** A link, only to an http(s) URL (anything else is shown as text); the URL is percent-encoded where Markdown would read it. */
export function link(label: string, url: string): string {
  const target = url.trim()
  if (!/^https?:\/\/\S/i.test(target)) return `${md(label)}: ${md(url)}`
  // eslint-disable-next-line no-control-regex
  const safe = target.replace(/[\u0000-\u0020\u007f()<>[\]`"'\\|*_~$]/g, (c) => `%${hex(c)}`)
  return `[${md(label)}](${safe})`
}

const hex = (c: string): string => c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')

/** A bulleted list; empty when there is nothing to list. */
export function bullets(items: readonly string[]): string {
  return items.map((i) => `- ${i}`).join('\n')
}

/** Sections joined by a blank line, empty ones dropped. */
export function sections(parts: ReadonlyArray<string | undefined>): string {
  return parts.filter((p): p is string => p !== undefined && p !== '').join('\n\n') + '\n'
}
