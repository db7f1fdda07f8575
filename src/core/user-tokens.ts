import { createHash, randomBytes } from 'node:crypto';
import type { Db, IndexDescription } from 'mongodb';
import type { ObjectId } from 'mongodb';
import { collectionOf } from './db.js';

/** The collection of issued user tokens: only their SHA-256, never the token itself. */
export const USER_TOKENS_COLLECTION = 'user_tokens';
/** 32 random bytes, base64url; the prefix lets secret scanners and our own logs recognise one. */
const TOKEN_BYTES = 32;
const TOKEN_PREFIX = 'ut_';
const TOKEN_SHAPE = /^ut_[A-Za-z0-9_-]{43}$/;

/** A stored token: looked up by the hash of what the client presents. */
interface TokenRecord {
  _id: string;
  user_id: ObjectId;
  created_at: Date;
  expires_at: Date;
}

/** What `issue` answers: the token (shown once) and when it expires. */
export interface IssuedToken {
  token: string;
  expiresAt: Date;
}

/**
 * End-user bearer tokens (DESIGN.md §9): random, shown once, stored as SHA-256 (a fast hash is enough for 256
 * random bits: nothing to brute-force), expiring after `ttlMs`. Expiry is checked on every lookup, so it holds on
 * the embedded database too, where TTL indexes do not fire; on MongoDB the TTL index also removes old records.
 */
export class UserTokens {
  constructor(readonly ttlMs: number) {}

  /** The indexes the token collection needs. */
  static readonly indexes: IndexDescription[] = [
    { key: { user_id: 1 }, name: 'user_id_1' },
    { key: { expires_at: 1 }, name: 'expires_at_ttl', expireAfterSeconds: 0 },
  ];

  /** Creates the token collection's indexes. */
  static async ensureIndexes(db: Db): Promise<void> {
    await collectionOf(db, USER_TOKENS_COLLECTION).createIndexes(UserTokens.indexes);
  }

  /** A new token for the user. */
  async issue(db: Db, userId: ObjectId, now = new Date()): Promise<IssuedToken> {
    const token = TOKEN_PREFIX + randomBytes(TOKEN_BYTES).toString('base64url');
    const expiresAt = new Date(now.getTime() + this.ttlMs);
    await tokens(db).insertOne({ _id: hashToken(token), user_id: userId, created_at: now, expires_at: expiresAt });
    return { token, expiresAt };
  }

  /** The user a token belongs to while it is unexpired and not revoked, and the token's stored id; null otherwise. */
  async userOf(db: Db, token: string, now = new Date()): Promise<{ userId: ObjectId; tokenId: string } | null> {
    if (!TOKEN_SHAPE.test(token)) return null;
    const tokenId = hashToken(token);
    const record = await tokens(db).findOne({ _id: tokenId, expires_at: { $gt: now } }, { projection: { user_id: 1 } });
    return record ? { userId: record.user_id, tokenId } : null;
  }

  /** Revokes one token (rotation): it stops working at once. */
  async revoke(db: Db, token: string): Promise<void> {
    await this.revokeId(db, hashToken(token));
  }

  /** Revokes the token stored under `tokenId` (the caller's `tokenId`). */
  async revokeId(db: Db, tokenId: string): Promise<void> {
    await tokens(db).deleteOne({ _id: tokenId });
  }

  /** Revokes every token of the user (the user was deleted). */
  async revokeAll(db: Db, userId: ObjectId): Promise<number> {
    return (await tokens(db).deleteMany({ user_id: userId })).deletedCount;
  }
}

/** Whether `value` has the shape of a user token (for telling it from an API key before any lookup). */
export function looksLikeUserToken(value: string): boolean {
  return TOKEN_SHAPE.test(value);
}

function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

function tokens(db: Db) {
  return collectionOf<TokenRecord>(db, USER_TOKENS_COLLECTION);
}
