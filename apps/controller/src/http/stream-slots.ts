import { GauntletError } from '@gauntlet/contracts'

/**
 * The cap on open event streams (--max-streams), in all: a stream holds a socket and a run listener
 * for as long as the client keeps it, so without a cap idle clients could hold the controller's memory.
 */
export class StreamSlots {
  private taken = 0

  constructor(readonly max: number) {}

  get open(): number {
    return this.taken
  }

  /** Takes a slot, or throws GauntletError('too_many'); the returned release may be called any number of times. */
  acquire(): () => void {
    if (this.taken >= this.max) {
      throw new GauntletError('too_many', `${this.taken} event streams are open, the most this controller serves (--max-streams ${this.max}); close one or retry later`)
    }
    this.taken++
    let released = false
    return () => {
      if (released) return
      released = true
      this.taken--
    }
  }
}
