import type { RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { GatewayConfig } from '../../config/schema.js';
import { GatewayError } from '../core/errors.js';

/**
 * Login attempts per client address (`http.loginRateLimit`), 429 past them. Each login form gets its own (the
 * console's, the Node-RED editor's): an address's attempts at one do not use up the other's.
 */
export function loginLimiter(limits: GatewayConfig['http']['loginRateLimit']): RequestHandler {
  return rateLimit({
    windowMs: limits.windowS * 1000,
    limit: limits.max,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    handler: (_req, _res, next) => next(new GatewayError('rate_limited', 'too many login attempts; wait and try again')),
  });
}
