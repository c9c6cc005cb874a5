/**
 * Data files for templated requests (`data: { skus: { file: ./skus.csv } }`): a CSV file with a header
 * row (RFC 4180) or JSON lines, parsed into column names and rows of strings. Pure: the caller reads the
 * file (and checks its byte size first); this module only parses text. Every message names the line.
 *
 * Both parsers run in linear time: cells are slices of the text, never built a character at a time.
 */

export type DataFormat = 'csv' | 'jsonl'

export type DataFileParse = { ok: true; columns: string[]; rows: string[][] } | { ok: false; message: string }

/** Rows are shipped to every agent and held in memory there: the limits bound what one file can cost. */
export const MAX_DATA_ROWS = 1_000_000
export const MAX_DATA_COLUMNS = 100
export const MAX_DATA_CELL_CHARS = 4096
export const MAX_DATA_TEXT_CHARS = 16 * 1024 * 1024

/** A column name: the same rule as the template grammar's `{{ data.<set>.<column> }}` names. */
const columnName = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/

const QUOTE = 0x22
const COMMA = 0x2c
const LF = 0x0a
const CR = 0x0d

/** The format a data file's extension names, or undefined for any other extension. */
export function formatOf(path: string): DataFormat | undefined {
  const lower = path.toLowerCase()
  if (lower.endsWith('.csv')) return 'csv'
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return 'jsonl'
  return undefined
}

/** Parses a data file's text: the first row (CSV) or object's keys (JSON lines) name the columns. */
export function parseDataFile(text: string, format: DataFormat): DataFileParse {
  if (text.length > MAX_DATA_TEXT_CHARS) {
    return { ok: false, message: `the file has ${text.length} characters, more than the limit of 16 MiB` }
  }
  // A UTF-8 BOM (which spreadsheet programs write) is not part of the first column's name.
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
  return format === 'csv' ? parseCsv(body) : parseJsonLines(body)
}

/** Thrown inside the parsers and turned into `{ ok: false }` at their edge: keeps the scanning loops flat. */
class DataFileError extends Error {}

function fail(line: number, message: string): never {
  throw new DataFileError(`line ${line}: ${message}`)
}

function parseCsv(text: string): DataFileParse {
  try {
    const records = csvRecords(text)
    const header = records.next()
    if (header.done) return { ok: false, message: 'the file is empty: a header row naming the columns comes first' }
    const columns = header.value.fields
    checkColumns(columns, header.value.line)
    const rows: string[][] = []
    for (const { fields, line } of records) {
      if (fields.length !== columns.length) {
        fail(line, `${fields.length} field${fields.length === 1 ? '' : 's'}, the header has ${columns.length}`)
      }
      if (rows.length === MAX_DATA_ROWS) fail(line, `more than ${MAX_DATA_ROWS} data rows`)
      rows.push(fields)
    }
    if (rows.length === 0) return { ok: false, message: 'no data rows: the file has only its header row' }
    return { ok: true, columns, rows }
  } catch (error) {
    if (error instanceof DataFileError) return { ok: false, message: error.message }
    throw error
  }
}

/**
 * The records of a CSV text with the line each starts on. Empty lines are skipped, wherever they are
 * (as papaparse's skipEmptyLines and k6's examples do): an empty line carries no row, and refusing a
 * blank line left in by an editor helps nobody. A record that is one quoted empty field (`""`) is kept.
 */
function* csvRecords(text: string): Generator<{ fields: string[]; line: number }> {
  const end = text.length
  let i = 0
  let line = 1
  while (i < end) {
    const recordLine = line
    const fields: string[] = []
    let quotedAny = false
    for (;;) {
      if (fields.length > MAX_DATA_COLUMNS) fail(recordLine, `more than ${MAX_DATA_COLUMNS} fields`)
      let cell: string
      if (text.charCodeAt(i) === QUOTE) {
        quotedAny = true
        const quoteLine = line
        // A quoted field: slices between quotes, a doubled quote is one quote. Line breaks are data.
        const pieces: string[] = []
        let from = i + 1
        for (;;) {
          const close = text.indexOf('"', from)
          if (close < 0) fail(quoteLine, 'an unclosed quote')
          line += countLineFeeds(text, from, close)
          pieces.push(text.slice(from, close))
          if (text.charCodeAt(close + 1) === QUOTE) {
            pieces.push('"')
            from = close + 2
            continue
          }
          i = close + 1
          break
        }
        cell = pieces.length === 1 ? pieces[0]! : pieces.join('')
        const after = text.charCodeAt(i)
        if (i < end && after !== COMMA && after !== LF && !(after === CR && text.charCodeAt(i + 1) === LF)) {
          fail(line, `a character after a closing quote (a field is either quoted whole or not at all)`)
        }
      } else {
        const start = i
        while (i < end) {
          const c = text.charCodeAt(i)
          if (c === COMMA || c === LF) break
          if (c === CR) {
            if (text.charCodeAt(i + 1) === LF) break
            fail(line, 'a carriage return without a line feed (lines end with LF or CRLF)')
          }
          if (c === QUOTE) fail(line, 'a quote inside an unquoted field (quote the whole field and double the quote)')
          i++
        }
        cell = text.slice(start, i)
      }
      if (cell.length > MAX_DATA_CELL_CHARS) {
        fail(recordLine, `field ${fields.length + 1} has ${cell.length} characters, more than ${MAX_DATA_CELL_CHARS}`)
      }
      fields.push(cell)
      const c = text.charCodeAt(i)
      if (c === COMMA) {
        i++
        continue
      }
      // A line end (LF or CRLF) or the end of the text ends the record.
      if (c === CR) i += 2
      else if (c === LF) i += 1
      line++
      break
    }
    if (fields.length === 1 && fields[0] === '' && !quotedAny) continue
    yield { fields, line: recordLine }
  }
}

function countLineFeeds(text: string, from: number, to: number): number {
  let count = 0
  for (let at = from; at < to; at++) if (text.charCodeAt(at) === LF) count++
  return count
}

/** Column names must be usable in templates, and unique so that a name means one column. */
function checkColumns(columns: readonly string[], line: number): void {
  if (columns.length > MAX_DATA_COLUMNS) fail(line, `${columns.length} columns, more than ${MAX_DATA_COLUMNS}`)
  const seen = new Map<string, number>()
  columns.forEach((name, index) => {
    if (name === '') fail(line, `column ${index + 1} has no name`)
    if (!columnName.test(name)) {
      fail(
        line,
        `column ${index + 1} name ${JSON.stringify(name)} must start with a letter or "_" and hold only ` +
          `letters, digits, "_" and "-" (at most 64 characters)`,
      )
    }
    const earlier = seen.get(name)
    if (earlier !== undefined) fail(line, `column name "${name}" appears twice (columns ${earlier} and ${index + 1})`)
    seen.set(name, index + 1)
  })
}

function parseJsonLines(text: string): DataFileParse {
  try {
    let columns: string[] | undefined
    let columnSet: Set<string> | undefined
    let firstLine = 0
    const rows: string[][] = []
    let line = 0
    for (let start = 0; start < text.length;) {
      line++
      let stop = text.indexOf('\n', start)
      if (stop < 0) stop = text.length
      const source = text.slice(start, stop)
      start = stop + 1
      // Blank lines (a trailing newline, a gap) carry no object: skipped, as for CSV.
      if (source.trim() === '') continue
      let value: unknown
      try {
        value = JSON.parse(source)
      } catch (error) {
        fail(line, `not JSON (${(error as Error).message})`)
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        fail(
          line,
          `a JSON object is expected, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`,
        )
      }
      const object = value as Record<string, unknown>
      if (columns === undefined || columnSet === undefined) {
        columns = Object.keys(object)
        if (columns.length === 0) fail(line, 'the first object has no keys (its keys name the columns)')
        checkColumns(columns, line)
        columnSet = new Set(columns)
        firstLine = line
      } else {
        for (const key of Object.keys(object)) {
          if (!columnSet.has(key)) fail(line, `unexpected key "${key}" (the columns are the keys of line ${firstLine})`)
        }
      }
      if (rows.length === MAX_DATA_ROWS) fail(line, `more than ${MAX_DATA_ROWS} data rows`)
      rows.push(columns.map((key) => cellOf(object, key, line)))
    }
    if (columns === undefined) return { ok: false, message: 'the file is empty: no JSON object on any line' }
    return { ok: true, columns, rows }
  } catch (error) {
    if (error instanceof DataFileError) return { ok: false, message: error.message }
    throw error
  }
}

/** A JSON value as a cell: strings as they are, numbers as JSON writes them, booleans as true/false. */
function cellOf(object: Record<string, unknown>, key: string, line: number): string {
  if (!Object.hasOwn(object, key)) fail(line, `missing key "${key}"`)
  const value = object[key]
  let cell: string
  if (typeof value === 'string') cell = value
  else if (typeof value === 'boolean') cell = value ? 'true' : 'false'
  else if (typeof value === 'number') {
    // JSON.parse reads 1e999 as Infinity, which no template can send meaningfully.
    if (!Number.isFinite(value)) fail(line, `"${key}" is not a finite number`)
    cell = JSON.stringify(value)
  } else {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : 'an object'
    fail(line, `"${key}" must be a string, number or boolean, got ${kind}`)
  }
  if (cell.length > MAX_DATA_CELL_CHARS) {
    fail(line, `"${key}" has ${cell.length} characters, more than ${MAX_DATA_CELL_CHARS}`)
  }
  return cell
}

/**
 * The first data row (1-based: row 1 is the first row after a CSV header, or the first JSON line) whose
 * cell in `column` holds CR, LF or NUL, which cannot go into an HTTP header value; undefined if none.
 * For a CSV without quoted line breaks, the file's line is the row + 1. Throws for an unknown column:
 * that is the caller's bug (template columns are checked against the file's columns first).
 */
export function unsafeForHeader(
  columns: readonly string[],
  rows: readonly (readonly string[])[],
  column: string,
): number | undefined {
  const index = columns.indexOf(column)
  if (index < 0) throw new RangeError(`no column "${column}" in ${columns.join(', ')}`)
  const unsafe = /[\r\n\0]/
  for (let row = 0; row < rows.length; row++) {
    if (unsafe.test(rows[row]![index] ?? '')) return row + 1
  }
  return undefined
}
