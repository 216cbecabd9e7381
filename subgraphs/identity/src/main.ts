import { runMain, startSubgraph } from '@platform/kernel';
import identity from './module.js';

await runMain(() => startSubgraph(identity));
