import type { Request, Response } from 'express';
import { ApiError, toApiError } from './errors.js';
import { stateOf, type RequestState } from './request-state.js';

// How the transport writes answers: JSON text as res.json would, one error body (DESIGN.md §3), and what a body
// reader's failure means for the client.

/** What res.json sends, without its detour through res.send (charset parsing, a Buffer copy past 1000 bytes). */
export function sendJsonText(res: Response, status: number, text: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  // a string body goes out in one write with the head
  res.end(text);
}

/** Answers the error body and records the error for the request's log line (nothing is written once headers went). */
export function sendError(res: Response, error: ApiError, state: RequestState = stateOf(res)): void {
  state.error = error;
  if (res.headersSent) return;
  // a caller without a valid key gets its answer, not a socket to keep open
  if (error.code === 'unauthorized') res.setHeader('Connection', 'close');
  if (error.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(error.retryAfterSeconds));
  res.status(error.status).json(error.toBody(state.requestId));
}

const BODY_PARSER_ERRORS: Record<string, ApiError['code']> = {
  'entity.parse.failed': 'invalid_json',
  'entity.too.large': 'payload_too_large',
  'charset.unsupported': 'unsupported_media_type',
  'encoding.unsupported': 'unsupported_media_type',
  'request.size.invalid': 'invalid_json',
  'request.aborted': 'invalid_json',
};

/**
 * What the body reader's failure means for the client. A body that does not inflate (corrupt gzip, deflate or
 * br) comes as a 4xx with no type of its own: the client sent it, so it is a 400, not an `internal`.
 */
export function bodyError(req: Request, err: unknown): ApiError {
  const known = BODY_PARSER_ERRORS[(err as { type?: string } | null)?.type ?? ''];
  if (known) return new ApiError(known, { cause: err });
  const status = (err as { status?: unknown } | null)?.status;
  const encoded = (req.get('content-encoding') ?? 'identity').trim().toLowerCase() !== 'identity';
  if (typeof status === 'number' && status >= 400 && status < 500)
    return new ApiError(encoded ? 'invalid_encoding' : 'invalid_json', { cause: err });
  return toApiError(err);
}
