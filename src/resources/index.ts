import type { ResourceDefinition } from '../core/dispatch.js';
import type { PaymentEngine } from '../payments/engine.js';
import account from './account/index.js';
import firm from './firm/index.js';
import group from './group/index.js';
import passport from './passport/index.js';
import { protocolResource } from './protocol/index.js';
import { loadPublishingConfig, type PublishingConfig } from '../publishing/config.js';
import stockIn from './stock_in/index.js';
import merchandise from './merchandise/index.js';
import { walletResource } from './wallet/index.js';
import { walletTransactionResource } from './wallet_transaction/index.js';

/** Every resource the service serves; a new resource module is added here. */
export function createResources(
  engine: PaymentEngine,
  publishing: Pick<PublishingConfig, 'pendingAfterMs'> = loadPublishingConfig(),
): ResourceDefinition[] {
  return [group, account, walletResource(engine), walletTransactionResource(engine), passport, protocolResource(publishing), stockIn, firm, merchandise];
}
