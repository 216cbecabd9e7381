// The attacker's thread: every attack of bench/edge/attacks.ts at once, on its own event loop so
// the normal client's timing in the main thread is not the attacker's.
import { parentPort, workerData } from 'node:worker_threads';
import { httpAttacks, socketAttack, type AttackContext } from './attacks.js';

const { context, sockets, subscriptions } = workerData as {
  context: AttackContext;
  sockets: number;
  subscriptions: number;
};
const [http, ws] = await Promise.all([httpAttacks(context), socketAttack(context, sockets, subscriptions)]);
parentPort!.postMessage({ ...http, ...ws });
