// The benchmark's leanest measuring socket: a WebSocket client (RFC 6455) straight on a TCP
// socket, for text messages only, as the benchmark's raw graphql-transport-ws client uses them.
//
// Why not `ws`: on this 2-core machine the benchmark's clients share the cores with the gateway
// they measure, and `ws` costs ~16–18 µs of CPU per received frame (a Writable stream per socket,
// events, UTF-8 validation); with 5000 sockets the last socket's timestamp then waits for the
// client to work through the frames before it, not for the gateway. This reads each TCP chunk,
// stamps it, and slices the frames out of it. It checks what a conforming client must check (the
// handshake's accept key and subprotocol, unmasked server frames, control frames) and answers
// pings and close; it is not a general-purpose client (no extensions, no binary messages).
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import net from 'node:net';

const ACCEPT_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const HEADER_END = Buffer.from('\r\n\r\n');
/**
 * Every socket reads into this one buffer (`net`'s `onread`: no allocation and no stream per
 * read); what a read leaves unparsed is copied out before the next one.
 */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);
/** Random bytes for frame masks, refilled when used up (one `randomBytes` call per frame costs more than the frame). */
const MASK_POOL = Buffer.alloc(8192);
let maskPoolAt = MASK_POOL.length;

const enum Opcode {
  Continuation = 0x0,
  Text = 0x1,
  Binary = 0x2,
  Close = 0x8,
  Ping = 0x9,
  Pong = 0xa,
}

export interface WireSocketOptions {
  /** ws:// or http:// URL. */
  url: string;
  protocol: string;
  headers?: Readonly<Record<string, string>>;
  /** A text message, with the time (`stamp()`) its TCP chunk arrived. */
  onMessage(text: string, at: number): void;
  /** The connection failed or broke the protocol after opening. */
  onError(error: Error): void;
  /** Current time, called once per TCP chunk read. */
  stamp(): number;
}

/** One open WebSocket connection; `WireSocket.connect` resolves once the server accepted the upgrade. */
export class WireSocket {
  readonly #socket: net.Socket;
  readonly #options: WireSocketOptions;
  #pending: Buffer | undefined;
  #fragments: Buffer[] | undefined;
  readonly #closed: Promise<void>;
  /** The close code the server sent, if it closed the connection. */
  closeCode: number | undefined;

  private constructor(
    socket: net.Socket,
    options: WireSocketOptions,
    rest: Buffer,
    setReader: (reader: (chunk: Buffer) => void) => void,
  ) {
    this.#socket = socket;
    this.#options = options;
    this.#closed = new Promise((resolve) => socket.once('close', () => resolve()));
    setReader((chunk) => this.#read(chunk, options.stamp()));
    socket.on('error', (error) => options.onError(error));
    if (rest.length > 0) this.#read(rest, options.stamp());
  }

  static connect(options: WireSocketOptions): Promise<WireSocket> {
    const url = new URL(options.url.replace(/^http/, 'ws'));
    const key = randomBytes(16).toString('base64');
    const expectedAccept = createHash('sha1')
      .update(key + ACCEPT_GUID)
      .digest('base64');
    const headers = {
      Host: url.host,
      Upgrade: 'websocket',
      Connection: 'Upgrade',
      'Sec-WebSocket-Key': key,
      'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Protocol': options.protocol,
      ...options.headers,
    };
    const request =
      `GET ${url.pathname}${url.search} HTTP/1.1\r\n` +
      Object.entries(headers)
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('') +
      '\r\n';
    return new Promise((resolve, reject) => {
      let reader: (chunk: Buffer) => void = (chunk) => onData(chunk);
      const socket = net.connect({
        host: url.hostname,
        port: Number(url.port || 80),
        noDelay: true,
        onread: {
          buffer: READ_BUFFER,
          callback: (size) => {
            reader(READ_BUFFER.subarray(0, size));
            return true;
          },
        },
      });
      let head = Buffer.alloc(0);
      const fail = (error: Error): void => {
        socket.destroy();
        reject(error);
      };
      const onData = (chunk: Buffer): void => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf(HEADER_END);
        if (end < 0) {
          if (head.length > 16_384) fail(new Error('upgrade response headers too long'));
          return;
        }
        socket.off('error', fail);
        socket.off('close', onEarlyClose);
        const [status = '', ...lines] = head.subarray(0, end).toString('latin1').split('\r\n');
        const fields = new Map(
          lines.map((line) => {
            const colon = line.indexOf(':');
            return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()] as const;
          }),
        );
        if (!/^HTTP\/1\.1 101 /.test(status)) return fail(new Error(`upgrade refused: ${status}`));
        if (fields.get('sec-websocket-accept') !== expectedAccept) return fail(new Error('bad Sec-WebSocket-Accept'));
        if (fields.get('sec-websocket-protocol') !== options.protocol) {
          return fail(new Error(`server chose subprotocol ${fields.get('sec-websocket-protocol') ?? '(none)'}`));
        }
        resolve(new WireSocket(socket, options, head.subarray(end + HEADER_END.length), (next) => (reader = next)));
      };
      const onEarlyClose = (): void => fail(new Error('connection closed during the upgrade'));
      socket.once('error', fail);
      socket.once('close', onEarlyClose);
      socket.write(request);
    });
  }

  /** Resolves when the TCP connection is gone. */
  get closed(): Promise<void> {
    return this.#closed;
  }

  /** Sends one text message (masked, as clients must). */
  send(text: string): void {
    this.#write(Opcode.Text, Buffer.from(text));
  }

  /** Starts the closing handshake with `code` and resolves when the TCP connection is gone. */
  close(code = 1000): Promise<void> {
    if (!this.#socket.destroyed) {
      const body = Buffer.alloc(2);
      body.writeUInt16BE(code);
      this.#write(Opcode.Close, body);
      // The server answers with its own close frame and ends the connection; do not wait forever.
      setTimeout(() => this.#socket.destroy(), 2000).unref();
    }
    return this.#closed;
  }

  #write(opcode: Opcode, payload: Buffer): void {
    if (this.#socket.destroyed) return;
    const length = payload.length;
    const extended = length < 126 ? 0 : length < 65_536 ? 2 : 8;
    const frame = Buffer.allocUnsafe(2 + extended + 4 + length);
    frame[0] = 0x80 | opcode;
    if (extended === 0) frame[1] = 0x80 | length;
    else if (extended === 2) {
      frame[1] = 0x80 | 126;
      frame.writeUInt16BE(length, 2);
    } else {
      frame[1] = 0x80 | 127;
      frame.writeBigUInt64BE(BigInt(length), 2);
    }
    const maskAt = 2 + extended;
    if (maskPoolAt + 4 > MASK_POOL.length) {
      randomFillSync(MASK_POOL);
      maskPoolAt = 0;
    }
    MASK_POOL.copy(frame, maskAt, maskPoolAt, (maskPoolAt += 4));
    for (let i = 0; i < length; i++) frame[maskAt + 4 + i] = payload[i]! ^ frame[maskAt + (i & 3)]!;
    this.#socket.write(frame);
  }

  #read(chunk: Buffer, at: number): void {
    let data = this.#pending ? Buffer.concat([this.#pending, chunk]) : chunk;
    this.#pending = undefined;
    while (data.length >= 2) {
      const first = data[0]!;
      const second = data[1]!;
      if (second & 0x80) return this.#protocolError('the server masked a frame');
      if (first & 0x70) return this.#protocolError('reserved bits set (no extension was negotiated)');
      let length = second & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (data.length < 4) break;
        length = data.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (data.length < 10) break;
        const big = data.readBigUInt64BE(2);
        if (big > BigInt(Number.MAX_SAFE_INTEGER)) return this.#protocolError('frame too long');
        length = Number(big);
        offset = 10;
      }
      if (data.length < offset + length) break;
      this.#frame(first & 0x0f, (first & 0x80) !== 0, data.subarray(offset, offset + length), at);
      data = data.subarray(offset + length);
    }
    // Copied, so a partial frame does not pin the whole chunk it came in.
    if (data.length > 0) this.#pending = Buffer.from(data);
  }

  #frame(opcode: number, fin: boolean, payload: Buffer, at: number): void {
    switch (opcode) {
      case Opcode.Text:
      case Opcode.Continuation:
        if (opcode === Opcode.Text && this.#fragments)
          return this.#protocolError('new message inside a fragmented one');
        if (opcode === Opcode.Continuation && !this.#fragments)
          return this.#protocolError('continuation without a start');
        if (!fin) {
          (this.#fragments ??= []).push(Buffer.from(payload));
          return;
        }
        if (this.#fragments) {
          this.#fragments.push(payload);
          payload = Buffer.concat(this.#fragments);
          this.#fragments = undefined;
        }
        this.#options.onMessage(payload.toString('utf8'), at);
        return;
      case Opcode.Ping:
        this.#write(Opcode.Pong, payload);
        return;
      case Opcode.Pong:
        return;
      case Opcode.Close:
        this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        this.#write(Opcode.Close, payload.subarray(0, 2));
        this.#socket.end();
        return;
      case Opcode.Binary:
      default:
        this.#protocolError(`unexpected opcode ${opcode}`);
    }
  }

  #protocolError(message: string): void {
    this.#options.onError(new Error(message));
    this.#socket.destroy();
  }
}
