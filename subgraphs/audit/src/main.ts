import { runMain, startSubgraph } from '@platform/kernel';
import audit from './module.js';

await runMain(() => startSubgraph(audit));
