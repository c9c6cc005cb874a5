/** A window's TLS failure reason is at most this long (the agent cuts it). */
export const maxTlsFailureChars = 200

/** At most this many requests in a mix: each adds a histogram to every window it is sent in. */
export const maxRequestNames = 50
