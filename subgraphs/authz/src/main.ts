import { runMain, startSubgraph } from '@platform/kernel';
import authz from './module.js';

await runMain(() => startSubgraph(authz));
