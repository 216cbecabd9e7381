import { runMain, startSubgraph } from '@platform/kernel';
import __name__Module from './module.js';

await runMain(() => startSubgraph(__name__Module));
