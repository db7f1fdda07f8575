import { GraphQLError, Kind, type ValidationRule } from 'graphql';
import type { ApiError } from '../core/errors.js';
import { IDEMPOTENCY_HEADER, checkIdempotencyKey } from '../core/idempotency-key.js';

// `Idempotency-Key` on `/graphql` (README "Retrying safely"): the header names one write, so a keyed request carries one
// mutation. Its write action then runs under the key exactly as `POST /<resource>/<action>` would: a retry with the
// same key and input gets the stored answer (`Idempotent-Replayed: true`), other input 409 `idempotency_conflict`.
// Queries ignore the key, as read actions do.

function refusal(message: string): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: 'invalid_params', fields: [{ field: IDEMPOTENCY_HEADER, messages: [message] }] },
  });
}

/**
 * The request's own validation rule when it has an `Idempotency-Key`: the key is well-formed, and the operation to
 * run, if a mutation, has exactly one root field (two writes under one key could not be told apart on a retry).
 * Refused here, before anything runs.
 */
export function keyedMutationRule(key: string, operationName: string | null | undefined): ValidationRule {
  return (context) => {
    try {
      checkIdempotencyKey(key);
    } catch (err) {
      context.reportError(refusal((err as ApiError).fields?.[0]?.messages[0] ?? (err as Error).message));
      return {};
    }
    return {
      OperationDefinition(node) {
        if (node.operation !== 'mutation') return;
        if (operationName && node.name?.value !== operationName) return;
        const roots = node.selectionSet.selections;
        if (roots.length !== 1 || roots[0]?.kind !== Kind.FIELD) {
          context.reportError(
            refusal(
              `one ${IDEMPOTENCY_HEADER} covers one mutation; this operation has ${roots.length} root selections: send each in its own request`,
            ),
          );
        }
      },
    };
  };
}
