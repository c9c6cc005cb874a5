/** A port that was free a moment ago (see free-port.mjs). */
export function freePort(): Promise<number>
