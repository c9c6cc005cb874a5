import { describe, expect, it } from 'vitest'
import {
  formatOf,
  MAX_DATA_CELL_CHARS,
  MAX_DATA_COLUMNS,
  MAX_DATA_ROWS,
  MAX_DATA_TEXT_CHARS,
  parseDataFile,
  unsafeForHeader,
} from '../../apps/controller/src/scenario/data-file.js'

describe('formatOf', () => {
  it.each<[string, 'csv' | 'jsonl' | undefined]>([
    ['./skus.csv', 'csv'],
    ['data/SKUS.CSV', 'csv'],
    ['./orders.jsonl', 'jsonl'],
    ['./orders.ndjson', 'jsonl'],
    ['./orders.json', undefined],
    ['./skus.tsv', undefined],
    ['./csv', undefined],
    ['./skus.csv.bak', undefined],
  ])('%s → %s', (path, format) => {
    expect(formatOf(path)).toBe(format)
  })
})

describe('parseDataFile: CSV', () => {
  it.each<[string, string, string[], string[][]]>([
    [
      'LF line ends',
      'sku,qty\nA1,2\nB2,3',
      ['sku', 'qty'],
      [
        ['A1', '2'],
        ['B2', '3'],
      ],
    ],
    [
      'CRLF line ends and a trailing newline',
      'sku,qty\r\nA1,2\r\nB2,3\r\n',
      ['sku', 'qty'],
      [
        ['A1', '2'],
        ['B2', '3'],
      ],
    ],
    ['a UTF-8 BOM before the header', '\uFEFFsku\nA1\n', ['sku'], [['A1']]],
    ['quoted fields with commas', 'name,city\n"Smith, J","Paris, FR"\n', ['name', 'city'], [['Smith, J', 'Paris, FR']]],
    ['doubled quotes inside quotes', 'q\n"say ""hi"""\n', ['q'], [['say "hi"']]],
    ['a quoted line break (LF and CRLF kept as data)', 'a,b\n"x\ny","1\r\n2"\n', ['a', 'b'], [['x\ny', '1\r\n2']]],
    ['a quoted header name', '"sku",qty\nA,1\n', ['sku', 'qty'], [['A', '1']]],
    [
      'empty fields',
      'a,b,c\n,,\n"",x,\n',
      ['a', 'b', 'c'],
      [
        ['', '', ''],
        ['', 'x', ''],
      ],
    ],
    ['empty lines skipped, in the middle and at the end', 'sku\nA\n\nB\r\n\r\n\n', ['sku'], [['A'], ['B']]],
    ['empty lines before the header skipped', '\n\nsku\nA\n', ['sku'], [['A']]],
    ['a quoted empty field is a row, not an empty line', 'sku\n""\nA\n', ['sku'], [[''], ['A']]],
    ['spaces are data (not trimmed)', 'a,b\n x , y \n', ['a', 'b'], [[' x ', ' y ']]],
    ['names with _ and -', '_id,order-no,X9\n1,2,3\n', ['_id', 'order-no', 'X9'], [['1', '2', '3']]],
    ['a quoted last field at the end of the text', 'a,b\n1,"2"', ['a', 'b'], [['1', '2']]],
  ])('%s', (_name, text, columns, rows) => {
    expect(parseDataFile(text, 'csv')).toEqual({ ok: true, columns, rows })
  })

  it.each<[string, string, string]>([
    ['an empty file', '', 'the file is empty: a header row naming the columns comes first'],
    ['only a BOM and empty lines', '\uFEFF\n\r\n', 'the file is empty: a header row naming the columns comes first'],
    ['a header without rows', 'sku,qty\n', 'no data rows: the file has only its header row'],
    ['an unclosed quote', 'sku\nA\nB\n"C\n\nD\n', 'line 4: an unclosed quote'],
    [
      'a character after a closing quote',
      'a,b\n"x"y,1\n',
      'line 2: a character after a closing quote (a field is either quoted whole or not at all)',
    ],
    [
      'a quote inside an unquoted field',
      'a\nab"c\n',
      'line 2: a quote inside an unquoted field (quote the whole field and double the quote)',
    ],
    [
      'a lone carriage return',
      'a\nx\ry\n',
      'line 2: a carriage return without a line feed (lines end with LF or CRLF)',
    ],
    ['too few fields', 'sku,qty\nA,1\nB\n', 'line 3: 1 field, the header has 2'],
    ['too many fields', 'sku,qty\nA,1,x\n', 'line 2: 3 fields, the header has 2'],
    ['the line of a row in a CRLF file', 'a,b\r\n1,2\r\nz\r\n', 'line 3: 1 field, the header has 2'],
    ['a trailing comma is one more field', 'sku,qty\nA,1,\n', 'line 2: 3 fields, the header has 2'],
    ['the line of a row after a quoted line break', 'a,b\n"x\ny",1\nz\n', 'line 4: 1 field, the header has 2'],
    ['the line of a row after skipped empty lines', 'a,b\n\n\n1\n', 'line 4: 1 field, the header has 2'],
    ['an empty column name', 'sku,,qty\nA,1,2\n', 'line 1: column 2 has no name'],
    [
      'a column name with a space',
      'sku,unit price\nA,1\n',
      'line 1: column 2 name "unit price" must start with a letter or "_" and hold only letters, digits, "_" and ' +
        '"-" (at most 64 characters)',
    ],
    [
      'a column name starting with a digit',
      '1st\nA\n',
      'line 1: column 1 name "1st" must start with a letter or "_" and hold only letters, digits, "_" and "-" ' +
        '(at most 64 characters)',
    ],
    [
      'a column name of 65 characters',
      `${'a'.repeat(65)}\nA\n`,
      `line 1: column 1 name "${'a'.repeat(65)}" must start with a letter or "_" and hold only letters, digits, ` +
        '"_" and "-" (at most 64 characters)',
    ],
    ['a duplicate column name', 'sku,qty,sku\nA,1,B\n', 'line 1: column name "sku" appears twice (columns 1 and 3)'],
  ])('%s', (_name, text, message) => {
    expect(parseDataFile(text, 'csv')).toEqual({ ok: false, message })
  })

  it('takes a column name of 64 characters', () => {
    const name = `_${'x'.repeat(63)}`
    expect(parseDataFile(`${name}\nA\n`, 'csv')).toEqual({ ok: true, columns: [name], rows: [['A']] })
  })

  it.each<[string, string, string]>([
    [
      'more columns than the limit',
      `${Array.from({ length: MAX_DATA_COLUMNS + 1 }, (_, i) => `c${i}`).join(',')}\n`,
      `line 1: ${MAX_DATA_COLUMNS + 1} columns, more than ${MAX_DATA_COLUMNS}`,
    ],
    [
      // The row stops being read as soon as it passes the limit: a huge row costs no memory.
      'a row far past the column limit',
      `a\n${','.repeat(10_000)}\n`,
      `line 2: more than ${MAX_DATA_COLUMNS} fields`,
    ],
    [
      'an unquoted cell over the limit',
      `a,b\n1,${'x'.repeat(MAX_DATA_CELL_CHARS + 1)}\n`,
      `line 2: field 2 has ${MAX_DATA_CELL_CHARS + 1} characters, more than ${MAX_DATA_CELL_CHARS}`,
    ],
    [
      'a quoted cell over the limit',
      `a\n"${'x'.repeat(MAX_DATA_CELL_CHARS)}"""\n`,
      `line 2: field 1 has ${MAX_DATA_CELL_CHARS + 1} characters, more than ${MAX_DATA_CELL_CHARS}`,
    ],
  ])('limits: %s', (_name, text, message) => {
    expect(parseDataFile(text, 'csv')).toEqual({ ok: false, message })
  })

  it('takes cells and columns at the limits', () => {
    const columns = Array.from({ length: MAX_DATA_COLUMNS }, (_, i) => `c${i}`)
    const cell = 'x'.repeat(MAX_DATA_CELL_CHARS)
    const row = columns.map(() => cell)
    const parsed = parseDataFile(`${columns.join(',')}\n${row.join(',')}\n`, 'csv')
    expect(parsed).toEqual({ ok: true, columns, rows: [row] })
  })

  it('refuses more data rows than the limit, naming the first row past it', () => {
    const text = `n\n${'1\n'.repeat(MAX_DATA_ROWS + 1)}`
    expect(parseDataFile(text, 'csv')).toEqual({
      ok: false,
      message: `line ${MAX_DATA_ROWS + 2}: more than ${MAX_DATA_ROWS} data rows`,
    })
    // One row fewer is the limit itself: accepted.
    const atLimit = parseDataFile(`n\n${'1\n'.repeat(MAX_DATA_ROWS)}`, 'csv')
    expect(atLimit.ok && atLimit.rows.length).toBe(MAX_DATA_ROWS)
  })

  it('refuses text longer than 16 MiB before parsing it', () => {
    const text = 'x'.repeat(MAX_DATA_TEXT_CHARS + 1)
    expect(parseDataFile(text, 'csv')).toEqual({
      ok: false,
      message: `the file has ${MAX_DATA_TEXT_CHARS + 1} characters, more than the limit of 16 MiB`,
    })
    expect(parseDataFile(text, 'jsonl')).toEqual({
      ok: false,
      message: `the file has ${MAX_DATA_TEXT_CHARS + 1} characters, more than the limit of 16 MiB`,
    })
  })

  it('parses a 200,000-row file in linear time', () => {
    const lines = ['id,sku,note']
    for (let i = 0; i < 200_000; i++)
      lines.push(i % 10 === 0 ? `${i},S-${i},"with ""quotes"", and comma"` : `${i},S-${i},plain`)
    const text = `${lines.join('\r\n')}\r\n`
    const started = performance.now()
    const parsed = parseDataFile(text, 'csv')
    const elapsedMs = performance.now() - started
    // The time is printed, not asserted (tests do not time things); it should be far under a second.
    console.log(`data-file: ${text.length} characters, 200000 CSV rows parsed in ${elapsedMs.toFixed(1)} ms`)
    expect(parsed.ok).toBe(true)
    if (!parsed.ok) return
    expect(parsed.rows).toHaveLength(200_000)
    expect(parsed.rows[0]).toEqual(['0', 'S-0', 'with "quotes", and comma'])
    expect(parsed.rows[1]).toEqual(['1', 'S-1', 'plain'])
    expect(parsed.rows[199_999]).toEqual(['199999', 'S-199999', 'plain'])
  })
})

describe('parseDataFile: JSON lines', () => {
  it.each<[string, string, string[], string[][]]>([
    [
      'strings, numbers and booleans as cells',
      '{"sku":"A1","qty":2,"price":9.5,"gift":true}\n{"sku":"B2","qty":-1,"price":1e21,"gift":false}\n',
      ['sku', 'qty', 'price', 'gift'],
      [
        ['A1', '2', '9.5', 'true'],
        ['B2', '-1', '1e+21', 'false'],
      ],
    ],
    [
      'keys in another order',
      '{"a":"1","b":"2"}\n{"b":"3","a":"4"}',
      ['a', 'b'],
      [
        ['1', '2'],
        ['4', '3'],
      ],
    ],
    ['CRLF, blank lines and a BOM', '\uFEFF{"a":"x"}\r\n\r\n  \n{"a":"y"}\r\n', ['a'], [['x'], ['y']]],
    ['strings keep line breaks and quotes', '{"a":"x\\ny \\"q\\""}', ['a'], [['x\ny "q"']]],
    ['a key named __proto__ is an ordinary column', '{"__proto__":"x"}', ['__proto__'], [['x']]],
  ])('%s', (_name, text, columns, rows) => {
    expect(parseDataFile(text, 'jsonl')).toEqual({ ok: true, columns, rows })
  })

  it.each<[string, string, string]>([
    ['an empty file', '', 'the file is empty: no JSON object on any line'],
    ['only blank lines', '\n  \r\n', 'the file is empty: no JSON object on any line'],
    ['an array', '{"a":"1"}\n\n["x"]\n', 'line 3: a JSON object is expected, got an array'],
    ['null', 'null\n', 'line 1: a JSON object is expected, got null'],
    ['a string', '"x"\n', 'line 1: a JSON object is expected, got string'],
    ['a number', '{"a":"1"}\n7\n', 'line 2: a JSON object is expected, got number'],
    ['an empty first object', '{}\n{"a":"1"}\n', 'line 1: the first object has no keys (its keys name the columns)'],
    ['a missing key', '{"a":"1","b":"2"}\n{"a":"3"}\n', 'line 2: missing key "b"'],
    [
      'an extra key',
      '{"a":"1"}\n{"a":"2"}\n{"a":"3","c":"4"}\n',
      'line 3: unexpected key "c" (the columns are the keys of line 1)',
    ],
    [
      'an extra key names the first object line after blank lines',
      '\n\n{"a":"1"}\n{"a":"3","c":"4"}\n',
      'line 4: unexpected key "c" (the columns are the keys of line 3)',
    ],
    ['a null value', '{"a":null}\n', 'line 1: "a" must be a string, number or boolean, got null'],
    ['an object value', '{"a":"1"}\n{"a":{"b":1}}\n', 'line 2: "a" must be a string, number or boolean, got an object'],
    ['an array value', '{"a":[1]}\n', 'line 1: "a" must be a string, number or boolean, got an array'],
    ['a number JSON reads as Infinity', '{"a":1e999}\n', 'line 1: "a" is not a finite number'],
    [
      'a bad key name',
      '{"unit price":1}\n',
      'line 1: column 1 name "unit price" must start with a letter or "_" and hold only letters, digits, "_" and ' +
        '"-" (at most 64 characters)',
    ],
    ['an empty key', '{"a":1,"":2}\n', 'line 1: column 2 has no name'],
    [
      'a cell over the limit',
      `{"a":"${'x'.repeat(MAX_DATA_CELL_CHARS + 1)}"}\n`,
      `line 1: "a" has ${MAX_DATA_CELL_CHARS + 1} characters, more than ${MAX_DATA_CELL_CHARS}`,
    ],
    [
      'more keys than the column limit',
      `${JSON.stringify(Object.fromEntries(Array.from({ length: MAX_DATA_COLUMNS + 1 }, (_, i) => [`c${i}`, i])))}\n`,
      `line 1: ${MAX_DATA_COLUMNS + 1} columns, more than ${MAX_DATA_COLUMNS}`,
    ],
  ])('%s', (_name, text, message) => {
    expect(parseDataFile(text, 'jsonl')).toEqual({ ok: false, message })
  })

  it('names the line that is not JSON, with what JSON.parse said', () => {
    const parsed = parseDataFile('{"a":"1"}\n{"a":\n', 'jsonl')
    // JSON.parse's own wording differs between Node versions: only its presence is checked.
    expect(parsed.ok === false && parsed.message).toMatch(/^line 2: not JSON \(.+\)$/)
  })

  it('refuses more data rows than the limit', () => {
    const text = '{"n":1}\n'.repeat(MAX_DATA_ROWS + 1)
    expect(parseDataFile(text, 'jsonl')).toEqual({
      ok: false,
      message: `line ${MAX_DATA_ROWS + 1}: more than ${MAX_DATA_ROWS} data rows`,
    })
  })
})

describe('unsafeForHeader', () => {
  const columns = ['sku', 'note']
  it.each<[string, string[][], string, number | undefined]>([
    [
      'no unsafe cell',
      [
        ['A', 'x'],
        ['B', 'y'],
      ],
      'note',
      undefined,
    ],
    [
      'a LF in row 2',
      [
        ['A', 'x'],
        ['B', 'y\nz'],
      ],
      'note',
      2,
    ],
    [
      'a CR in row 1',
      [
        ['A', 'x\r'],
        ['B', 'y\n'],
      ],
      'note',
      1,
    ],
    [
      'a NUL in row 3',
      [
        ['A', 'x'],
        ['B', 'y'],
        ['C', '\0'],
      ],
      'note',
      3,
    ],
    ['an unsafe cell in another column does not count', [['A\n', 'x']], 'note', undefined],
    ['tabs and quotes are allowed', [['A', '\t"x"']], 'note', undefined],
  ])('%s', (_name, rows, column, row) => {
    expect(unsafeForHeader(columns, rows, column)).toBe(row)
  })

  it('throws for a column the file does not have (a caller bug)', () => {
    expect(() => unsafeForHeader(columns, [['A', 'x']], 'price')).toThrow('no column "price" in sku, note')
  })
})
