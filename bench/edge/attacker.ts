// The attacker's thread: every attack of bench/edge/attacks.ts at once, on its own event loop so
// the normal client's timing in the main thread is not the attacker's. It loads and builds its
// payloads first and says `ready`; the phase starts when it is told `go`, so neither the thread's
// start nor the payloads' construction lands in the measured phase.
import { parentPort } from 'node:worker_threads';
import { httpAttacks, socketAttack, type AttackContext } from './attacks.js';

interface Go {
  context: AttackContext;
  sockets: number;
  subscriptions: number;
}

parentPort!.once('message', (go: Go) => {
  void Promise.all([httpAttacks(go.context), socketAttack(go.context, go.sockets, go.subscriptions)]).then(
    ([http, ws]) => parentPort!.postMessage({ ...http, ...ws }),
  );
});
parentPort!.postMessage('ready');
