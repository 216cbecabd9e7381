import { runMain, startSubgraph } from '@platform/kernel';
import blogModule from './module.js';

await runMain(() => startSubgraph(blogModule));
