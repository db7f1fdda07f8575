import type { ResourceDefinition } from '../core/dispatch.js';
import account from './account/index.js';
import group from './group/index.js';

/** Every resource the service serves; a new resource module is added here. */
export const RESOURCES: readonly ResourceDefinition[] = [group, account];
