/**
 * Just enough MIME to read back what nodemailer writes (no parser package is installed):
 * folded headers, RFC 2047 encoded words, nested multiparts, base64 and quoted-printable.
 */

/** The fields of one message that tests and developers look at. */
export interface ParsedMail {
  to: string;
  from: string;
  subject: string;
  messageId: string;
  date: Date | null;
  text: string;
  html: string;
}

interface Part {
  headers: Map<string, string>;
  body: string;
}

/** Parses a raw RFC 822 message (CRLF or LF line ends). */
export function parseMail(raw: string | Buffer): ParsedMail {
  const root = splitPart(raw.toString('latin1').replace(/\r\n/g, '\n'));
  const leaves = { text: '', html: '' };
  collectBodies(root, leaves);
  const header = (name: string): string => decodeWords(root.headers.get(name) ?? '');
  const dateHeader = root.headers.get('date');
  const date = dateHeader ? new Date(dateHeader) : null;
  return {
    to: header('to'),
    from: header('from'),
    subject: header('subject'),
    messageId: header('message-id'),
    date: date && !Number.isNaN(date.getTime()) ? date : null,
    text: leaves.text,
    html: leaves.html,
  };
}

// The raw text is kept as latin1 (one char per byte) until a part is decoded with its charset.
function splitPart(raw: string): Part {
  const end = raw.indexOf('\n\n');
  const head = end === -1 ? raw : raw.slice(0, end);
  const body = end === -1 ? '' : raw.slice(end + 2);
  const headers = new Map<string, string>();
  for (const line of head.replace(/\n[ \t]+/g, ' ').split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  return { headers, body };
}

function contentType(part: Part): { type: string; params: Map<string, string> } {
  const [type = 'text/plain', ...rest] = (part.headers.get('content-type') ?? 'text/plain').split(';');
  const params = new Map<string, string>();
  for (const param of rest) {
    const eq = param.indexOf('=');
    if (eq === -1) continue;
    params.set(
      param.slice(0, eq).trim().toLowerCase(),
      param
        .slice(eq + 1)
        .trim()
        .replace(/^"(.*)"$/, '$1'),
    );
  }
  return { type: type.trim().toLowerCase(), params };
}

function collectBodies(part: Part, found: { text: string; html: string }): void {
  const { type, params } = contentType(part);
  const boundary = params.get('boundary');
  if (type.startsWith('multipart/') && boundary) {
    for (const child of splitMultipart(part.body, boundary)) collectBodies(splitPart(child), found);
    return;
  }
  if (/^attachment/i.test(part.headers.get('content-disposition') ?? '')) return;
  const charset = params.get('charset') ?? 'utf-8';
  if (type === 'text/plain' && !found.text) found.text = decodeBody(part, charset);
  if (type === 'text/html' && !found.html) found.html = decodeBody(part, charset);
}

function splitMultipart(body: string, boundary: string): string[] {
  const parts: string[] = [];
  let current: string[] | null = null;
  for (const line of body.split('\n')) {
    const trimmed = line.trimEnd();
    if (trimmed === `--${boundary}` || trimmed === `--${boundary}--`) {
      if (current) parts.push(current.join('\n'));
      if (trimmed.endsWith(`${boundary}--`)) return parts;
      current = [];
    } else {
      current?.push(line);
    }
  }
  if (current) parts.push(current.join('\n'));
  return parts;
}

function decodeBody(part: Part, charset: string): string {
  const encoding = (part.headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  let bytes: Buffer;
  if (encoding === 'base64') bytes = Buffer.from(part.body.replace(/\s+/g, ''), 'base64');
  else if (encoding === 'quoted-printable') bytes = decodeQuotedPrintable(part.body);
  else bytes = Buffer.from(part.body, 'latin1');
  return decodeCharset(bytes, charset);
}

function decodeQuotedPrintable(body: string): Buffer {
  const unfolded = body.replace(/[ \t]+$/gm, '').replace(/=\n/g, '');
  return Buffer.from(
    unfolded.replace(/=([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))),
    'latin1',
  );
}

function decodeCharset(bytes: Buffer, charset: string): string {
  try {
    return new TextDecoder(charset).decode(bytes);
  } catch {
    return bytes.toString('utf8');
  }
}

const ENCODED_WORD = /=\?([^?]+)\?([bBqQ])\?([^?]*)\?=/g;

/** Decodes RFC 2047 words; whitespace between two adjacent encoded words is dropped. */
function decodeWords(value: string): string {
  // Raw 8-bit header text is UTF-8 (nodemailer writes it so under SMTPUTF8); it was read as latin1.
  const text = Buffer.from(value, 'latin1').toString('utf8');
  return text
    .replace(/(\?=)\s+(?==\?[^?]+\?[bBqQ]\?)/g, '$1')
    .replace(ENCODED_WORD, (_, charset: string, kind: string, data: string) =>
      decodeCharset(
        // Q encoding is quoted-printable with `_` for a space.
        kind.toLowerCase() === 'b' ? Buffer.from(data, 'base64') : decodeQuotedPrintable(data.replace(/_/g, ' ')),
        charset,
      ),
    );
}
