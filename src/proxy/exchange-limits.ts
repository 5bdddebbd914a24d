/**
 * A client that leaves while its request is with a member: the exchange lingers this long,
 * discarding the answer, so that a response about to arrive keeps its keep-alive connection
 * (for HTTPS, a TLS handshake saved); one still running then is cut, and its connection too.
 */
export const LINGER_MS = 1000;
/** ...and discards at most this much of the answer before cutting it. */
export const LINGER_BYTES = 256 * 1024;

/** Bodies up to this size are buffered so that a failed attempt can be replayed. */
export const REPLAY_BUFFER_LIMIT = 64 * 1024;
