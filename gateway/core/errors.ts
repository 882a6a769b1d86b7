/** Error codes that cross module and API boundaries; the HTTP layer maps them to statuses. */
export type ErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'rate_limited'
  | 'unavailable'
  | 'internal'
  | (string & {});

const statusByCode: Record<string, number> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
};

export class GatewayError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    status?: number,
  ) {
    super(message);
    this.name = 'GatewayError';
    this.status = status ?? statusByCode[code] ?? 400;
  }
}

export const notFound = (what: string): GatewayError => new GatewayError('not_found', `${what} not found`);
