import { runMain, startSubgraph } from '@platform/kernel';
import blog from './module.js';

await runMain(() => startSubgraph(blog));
