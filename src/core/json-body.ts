import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ApiError } from './errors.js';

// The action route's body reader (issue 10 item 3). Nearly every request is plain UTF-8 JSON: that one is read
// here, with express.json's semantics (limit, declared length, empty body = {}, a leading BOM dropped, the same
// error types for bodyError), without its per-request layers (type-is, content-type parsing, raw-body, the iconv
// decoder, debug). Compressed bodies and other charsets go to `fallback` (express.json), which answers them as before.

/** A body-parser-shaped error: `bodyError` (app.ts) maps its `type` to the API error. */
function bodyParserError(status: number, type: string, message: string): Error {
  return Object.assign(new Error(message), { status, statusCode: status, type, expose: true });
}

/** `application/json`, with no charset or UTF-8, the way clients send it; anything else is left to req.is. */
const PLAIN_JSON = /^application\/json\s*(?:;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

/** The reader of `POST /<resource>/<action>` bodies; `fallback` gets what it does not read itself. */
export function jsonBodyReader(
  limitBytes: number,
  fallback: RequestHandler,
  toApiError: (req: Request, err: unknown) => ApiError,
): RequestHandler {
  return function readJsonBody(req: Request, res: Response, next: NextFunction): void {
    const headers = req.headers;
    const length = headers['content-length'];
    const type = headers['content-type'];
    const encoding = headers['content-encoding'];
    if (headers['transfer-encoding'] === undefined && !(Number(length ?? 0) > 0)) {
      // no body at all is an empty params object
      req.body = {};
      next();
    } else if (type === undefined || !PLAIN_JSON.test(type)) {
      // a body must be JSON; one with another charset is express.json's to read (or refuse)
      if (req.is('application/json') === false) next(new ApiError('unsupported_media_type'));
      else fallback(req, res, next);
    } else if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
      fallback(req, res, next);
    } else {
      readPlain(req, limitBytes, length, (err?: Error) => next(err === undefined ? undefined : toApiError(req, err)));
    }
  };
}

function readPlain(req: Request, limitBytes: number, lengthHeader: string | undefined, next: (err?: Error) => void): void {
  const declared = lengthHeader === undefined ? undefined : Number(lengthHeader);
  let failure: Error | undefined =
    declared !== undefined && declared > limitBytes ? bodyParserError(413, 'entity.too.large', 'request entity too large') : undefined;
  const chunks: Buffer[] = [];
  let received = 0;
  let done = false;
  const finish = (err?: Error) => {
    if (done) return;
    done = true;
    req.removeListener('data', onData);
    req.removeListener('end', onEnd);
    req.removeListener('close', onClose);
    req.removeListener('error', onError);
    next(err);
  };
  const onData = (chunk: Buffer) => {
    if (failure) return; // read off the rest, as express.json does, before answering
    received += chunk.length;
    if (received > limitBytes) {
      failure = bodyParserError(413, 'entity.too.large', 'request entity too large');
      chunks.length = 0;
    } else {
      chunks.push(chunk);
    }
  };
  const onEnd = () => {
    if (failure) return finish(failure);
    if (declared !== undefined && received !== declared) {
      return finish(bodyParserError(400, 'request.size.invalid', 'request size did not match content length'));
    }
    const raw = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, received);
    let text = raw.toString('utf8');
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    try {
      req.body = text.length === 0 ? {} : JSON.parse(text);
    } catch (err) {
      return finish(Object.assign(bodyParserError(400, 'entity.parse.failed', (err as Error).message), { body: text }));
    }
    finish();
  };
  // 'close' comes after 'end' for a whole body: before it, the client went away
  const onClose = () => finish(bodyParserError(400, 'request.aborted', 'request aborted'));
  const onError = (err: Error) => finish(Object.assign(bodyParserError(400, 'request.aborted', err.message), { cause: err }));
  req.on('data', onData);
  req.on('end', onEnd);
  req.on('close', onClose);
  req.on('error', onError);
}
