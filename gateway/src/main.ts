import { runMain } from '@platform/kernel';
import { startGateway } from './index.js';

await runMain(() => startGateway());
