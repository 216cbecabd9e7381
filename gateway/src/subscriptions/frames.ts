import type { WebSocket } from 'ws';

/**
 * A socket's `next` frames for one operation, written straight to the socket. graphql-ws's server
 * would format, validate, stringify and send every result once per socket through several awaits;
 * a subscription group instead serializes each event's (masked) result once and hands every
 * member the same payload string, so per socket only the operation id differs: the frame is the
 * id's prefix, the shared payload and `}`. The client still sees a plain graphql-transport-ws
 * `{"id":…,"type":"next","payload":…}` message.
 */
export interface FrameSink {
  /** Writes `{"id":<id>,"type":"next","payload":<payload>}`; false when the socket is gone or too far behind (dropped). */
  next(payload: string): boolean;
  /** Frames dropped because the client did not read them. */
  readonly dropped: number;
}

/** Bytes a client may leave unread before its frames are dropped (as a slow consumer's events were). */
export const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

/** The start of the `next` message for operation `id`; an already serialized payload (a JSON object) and `}` follow. */
const nextPrefix = (id: string): string => `{"id":${JSON.stringify(id)},"type":"next","payload":`;

/** `onDrop` is told of each frame dropped because the client left more than `maxBufferedBytes` unread. */
export function frameSink(
  socket: WebSocket,
  id: string,
  onDrop: () => void = () => {},
  maxBufferedBytes = MAX_BUFFERED_BYTES,
): FrameSink {
  const prefix = nextPrefix(id);
  let dropped = 0;
  return {
    next(payload) {
      if (socket.readyState !== socket.OPEN) return false;
      if (socket.bufferedAmount > maxBufferedBytes) {
        dropped++;
        onDrop();
        return false;
      }
      socket.send(prefix + payload + '}');
      return true;
    },
    get dropped() {
      return dropped;
    },
  };
}
