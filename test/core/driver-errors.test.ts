import { MongoBulkWriteError, MongoNetworkTimeoutError } from 'mongodb';
import { describe, expect, it } from 'vitest';
import { toApiError } from '../../src/core/errors.js';

describe('toApiError', () => {
  it('makes a driver timeout unavailable (503)', () => {
    expect(toApiError(new MongoNetworkTimeoutError('connection 3 to 127.0.0.1:1 timed out')).code).toBe('unavailable');
  });

  it('makes a bulk write that lost its connection unavailable (503), not internal', () => {
    const err = new MongoBulkWriteError(new MongoNetworkTimeoutError('connection 3 to 127.0.0.1:1 timed out'), {} as never);
    expect(toApiError(err).code).toBe('unavailable');
  });
});
