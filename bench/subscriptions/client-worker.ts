// A worker thread holding a share of the benchmark's measured sockets (`--client-workers N`), so
// receiving N frames per event is spread over more than one event loop. Talks to the main thread
// with the messages below; arrival times are epoch ms on the main thread's clock (clock.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { shareClock } from './clock.js';
import { RawSubscriberPool, type RawPoolOptions } from './raw-client.js';

export type ToWorker = { type: 'collect'; postId: string; timeoutMs: number } | { type: 'close' };
export type FromWorker =
  | { type: 'open' }
  | { type: 'failed'; message: string }
  | { type: 'collected'; postId: string; times: Float64Array; errors: number }
  | { type: 'closed' };

const port = parentPort!;
shareClock((workerData as { clockBase: number }).clockBase);
const pool = new RawSubscriberPool(workerData as RawPoolOptions);
const send = (message: FromWorker): void => port.postMessage(message);

port.on('message', (message: ToWorker) => {
  if (message.type === 'collect') {
    void pool
      .collect(message.postId, message.timeoutMs)
      .then((times) => send({ type: 'collected', postId: message.postId, times, errors: pool.errors }));
  } else {
    void pool.close().then(() => {
      send({ type: 'closed' });
      port.close();
    });
  }
});

pool.open().then(
  () => send({ type: 'open' }),
  (error: Error) => send({ type: 'failed', message: error.message }),
);
