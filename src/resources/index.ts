import type { ResourceDefinition } from '../core/dispatch.js';
import account from './account/index.js';
import firm from './firm/index.js';
import group from './group/index.js';
import passport from './passport/index.js';
import { protocolResource } from './protocol/index.js';
import { loadPublishingConfig, type PublishingConfig } from '../publishing/config.js';
import stockIn from './stock_in/index.js';
import merchandise from './merchandise/index.js';
import dream from './dream/index.js';
import goal from './goal/index.js';
import task from './task/index.js';
import user from './user/index.js';
import wallet from './wallet/index.js';
import walletTransaction from './wallet_transaction/index.js';
import walletAudit from './wallet_audit/index.js';

/** Every resource the service serves; a new resource module is added here. */
export function createResources(publishing: Pick<PublishingConfig, 'pendingAfterMs'> = loadPublishingConfig()): ResourceDefinition[] {
  return [
    group,
    account,
    wallet,
    walletTransaction,
    walletAudit,
    passport,
    protocolResource(publishing),
    stockIn,
    firm,
    merchandise,
    user,
    dream,
    goal,
    task,
  ];
}
