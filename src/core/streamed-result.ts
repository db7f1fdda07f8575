import type { Response } from 'express';

/**
 * An answer that is not JSON (a file download): the handler has done everything that can fail with a JSON error
 * (params, the first database read) before returning it; `send` then writes the bytes. dispatch passes it through
 * unshaped and the app hands it the response.
 */
export abstract class StreamedResult {
  /** Writes the whole answer; a failure after the first byte can only cut the download short. */
  abstract send(res: Response): Promise<void>;
}
