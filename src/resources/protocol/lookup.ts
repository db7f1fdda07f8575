import type { Db, Document } from 'mongodb';
import { ApiError } from '../../core/errors.js';
import type { Model } from '../../core/model.js';

/** The 404 for a unit without a protocol. */
export function protocolNotFound(internalId: string): ApiError {
  return new ApiError('not_found', {
    message: `no protocol for internal_id ${internalId}`,
    fields: [{ field: 'internal_id', messages: ['has no protocol'] }],
  });
}

/** The protocol of a unit, or not_found. */
export async function loadProtocol(db: Db, model: Model, internalId: string, projection?: Document): Promise<Document> {
  const record = await model.collection(db).findOne({ internal_id: internalId }, projection ? { projection } : {});
  if (!record) throw protocolNotFound(internalId);
  return record;
}
