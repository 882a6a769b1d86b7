/** Retry pacing and the bandwidth limit: shared with the guardians' notifications, so they live in the core. */
export { Backoff, TokenBucket } from '../gateway/core/pacing.js';
