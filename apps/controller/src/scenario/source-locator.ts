import { isMap, isPair, isScalar, isSeq, LineCounter, type Document, type Node } from 'yaml'

/** Maps a JSON-pointer path in a parsed YAML document to the 1-based line:column where it is written. */
export class SourceLocator {
  constructor(
    private readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
  ) {}

  /**
   * The position of the value at `pointer`; for a key that should not be there, the key itself.
   * When the path does not exist (a missing key), the nearest existing parent.
   */
  locate(pointer: string): { line: number; column: number } {
    const segments = pointer
      .split('/')
      .slice(1)
      .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    let node: unknown = this.doc.contents
    let offset = (this.doc.contents as Node | null)?.range?.[0] ?? 0
    for (const segment of segments) {
      let next: unknown
      if (isMap(node)) {
        const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === segment)
        if (pair && isPair(pair)) {
          offset = (pair.key as Node).range?.[0] ?? offset
          next = pair.value
          if (next && (next as Node).range) offset = (next as Node).range![0]
        }
      } else if (isSeq(node)) {
        next = node.items[Number(segment)]
        if (next && (next as Node).range) offset = (next as Node).range![0]
      }
      if (next === undefined) break
      node = next
    }
    const { line, col } = this.lines.linePos(offset)
    return { line, column: col }
  }

  /** The position of a key inside the map at `parentPointer` (for "unknown key" problems). */
  locateKey(parentPointer: string, key: string): { line: number; column: number } {
    const parent = parentPointer === '' ? this.doc.contents : this.doc.getIn(parentPointer.split('/').slice(1), true)
    if (isMap(parent)) {
      const pair = parent.items.find((item) => isScalar(item.key) && String(item.key.value) === key)
      const offset = (pair?.key as Node | undefined)?.range?.[0]
      if (offset !== undefined) {
        const { line, col } = this.lines.linePos(offset)
        return { line, column: col }
      }
    }
    return this.locate(parentPointer)
  }
}
