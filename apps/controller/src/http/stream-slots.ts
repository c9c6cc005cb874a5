import { GauntletError } from '@gauntlet/contracts'

/**
 * The cap on open event streams (--max-streams), in all: a stream holds a socket and a run listener
 * for as long as the client keeps it, so without a cap idle clients could hold the controller's memory.
 */
export class StreamSlots {
  private taken = 0
  private anonymous = 0

  constructor(
    readonly max: number,
    /**
     * With --public-read and a token, readers without it may hold at most half the slots: they cannot lock token
     * holders out.
     */
    private readonly anonymousMax = max,
  ) {}

  get open(): number {
    return this.taken
  }

  /** Takes a slot, or throws GauntletError('too_many'); the returned release may be called any number of times. */
  acquire(anonymous = false): () => void {
    if (this.taken >= this.max) {
      throw new GauntletError(
        'too_many',
        `${this.taken} event streams are open, the most this controller serves (--max-streams ${this.max}); ` +
          `close one or retry later`,
      )
    }
    if (anonymous && this.anonymous >= this.anonymousMax) {
      throw new GauntletError(
        'too_many',
        `${this.anonymous} event streams without the token are open, the most this controller serves them; ` +
          `retry later or send the token`,
      )
    }
    this.taken++
    if (anonymous) this.anonymous++
    let released = false
    return () => {
      if (released) return
      released = true
      this.taken--
      if (anonymous) this.anonymous--
    }
  }
}
