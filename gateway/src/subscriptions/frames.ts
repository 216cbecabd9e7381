import type { WebSocket } from 'ws';

// A socket's `next` frames for one operation, written straight to the socket. graphql-ws's server
// would format, validate, stringify and send every result once per socket through several awaits;
// a subscription group instead serializes each event's (masked) result once and hands every
// member the same payload string, so per socket only the operation id differs: the frame is the
// id's prefix, the shared payload and `}`. The client still sees a plain graphql-transport-ws
// `{"id":…,"type":"next","payload":…}` message. The plain path writes its frames the same way.

/** Bytes a client may leave unread before its frames are dropped (as a slow consumer's events were). */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

/** The start of the `next` message for operation `id`; an already serialized payload (a JSON object) and `}` follow. */
const nextPrefix = (id: string): string => `{"id":${JSON.stringify(id)},"type":"next","payload":`;

/**
 * Writes `{"id":<id>,"type":"next","payload":<payload>}` to `socket`; false when the socket is gone
 * or too far behind. `onDrop` is told of each frame dropped because the client left more than
 * `maxBufferedBytes` unread.
 */
export function frameSink(
  socket: WebSocket,
  id: string,
  onDrop: () => void,
  maxBufferedBytes = MAX_BUFFERED_BYTES,
): (payload: string) => boolean {
  const prefix = nextPrefix(id);
  return (payload) => {
    if (socket.readyState !== socket.OPEN) return false;
    if (socket.bufferedAmount > maxBufferedBytes) {
      onDrop();
      return false;
    }
    socket.send(prefix + payload + '}');
    return true;
  };
}
