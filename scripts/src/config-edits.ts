import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';

/**
 * Small, checked edits of the repository's hand-written config files: each keeps the file as it
 * is (comments, layout) apart from the lines it adds, and is verified by parsing the result, so
 * a file laid out in an unexpected way is refused instead of damaged.
 */
export class ConfigEditError extends Error {
  override name = 'ConfigEditError';
}

type Tree = Record<string, unknown>;

const isMapping = (value: unknown): value is Tree =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function parseMapping(text: string, file: string): Tree {
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    throw new ConfigEditError(`${file} is not valid YAML: ${(error as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (!isMapping(parsed)) throw new ConfigEditError(`${file} must contain a mapping`);
  return parsed;
}

/** The YAML files of `config/`, parsed, by file name relative to the root (`config/default.yaml`). */
export function readConfigFiles(root: string): Map<string, Tree> {
  const dir = join(root, 'config');
  const files = new Map<string, Tree>();
  if (!existsSync(dir)) return files;
  for (const name of readdirSync(dir)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()) {
    files.set(`config/${name}`, parseMapping(readFileSync(join(dir, name), 'utf8'), `config/${name}`));
  }
  return files;
}

/** `services` of one parsed config file: name → port (entries without a numeric port are skipped). */
export function servicePorts(tree: Tree): Map<string, number> {
  const ports = new Map<string, number>();
  const services = tree.services;
  if (!isMapping(services)) return ports;
  for (const [name, service] of Object.entries(services)) {
    if (isMapping(service) && typeof service.port === 'number') ports.set(name, service.port);
  }
  return ports;
}

/** The gateway's port when no config file names one (config/default.yaml does). */
const GATEWAY_PORT = 4000;

/**
 * The port after the highest one the platform already uses: every service in any config file
 * (config/default.yaml lists every module's) and the gateway.
 */
export function nextFreePort(configs: Map<string, Tree>): number {
  const used = new Set<number>([GATEWAY_PORT]);
  for (const tree of configs.values()) {
    for (const port of servicePorts(tree).values()) used.add(port);
    const gateway = tree.gateway;
    if (isMapping(gateway) && typeof gateway.port === 'number') used.add(gateway.port);
  }
  const next = Math.max(...used) + 1;
  if (next > 65_535)
    throw new ConfigEditError('no port is left above the ones in use; set services.<name>.port yourself');
  return next;
}

/**
 * `text` (a config YAML file) with `services.<name>: { port }` added as the last entry of the
 * `services` block, written in the flow style the file already uses for its services.
 */
export function addServiceEntry(text: string, name: string, port: number, file = 'config/default.yaml'): string {
  const before = parseMapping(text, file);
  if (isMapping(before.services) && name in before.services) {
    throw new ConfigEditError(`${file} already has services.${name}`);
  }
  const lines = text.split('\n');
  const entry = (indent: string) => `${indent}${name}: { port: ${port} }`;
  const block = lines.findIndex((line) => /^services:\s*(#.*)?$/.test(line));
  const inlineEmpty = lines.findIndex((line) => /^services:\s*\{\s*\}\s*(#.*)?$/.test(line));
  if (block >= 0) {
    let last = block;
    let indent = '  ';
    for (let i = block + 1; i < lines.length; i++) {
      const line = lines[i]!;
      if (line.trim() === '') continue;
      if (!/^\s/.test(line)) break;
      if (last === block) indent = /^\s+/.exec(line)![0];
      last = i;
    }
    lines.splice(last + 1, 0, entry(indent));
  } else if (inlineEmpty >= 0) {
    lines.splice(inlineEmpty, 1, 'services:', entry('  '));
  } else if (before.services === undefined) {
    if (lines.at(-1) === '') lines.pop();
    lines.push('services:', entry('  '), '');
  } else {
    throw new ConfigEditError(`${file}: services is not laid out as a block this command can extend`);
  }
  const after = lines.join('\n');
  const expected = {
    ...before,
    services: { ...(isMapping(before.services) ? before.services : {}), [name]: { port } },
  };
  if (!isDeepStrictEqual(parseMapping(after, file), expected)) {
    throw new ConfigEditError(`${file} could not be extended safely; add services.${name}: { port: ${port} } yourself`);
  }
  return after;
}

/**
 * `text` (a solution tsconfig such as `tsconfig.build.json`) with `{ "path": <path> }` added
 * at the end of its `references`, in the one-line style of the existing entries.
 */
export function addProjectReference(text: string, path: string, file = 'tsconfig.build.json'): string {
  const parse = (source: string): { references?: Array<{ path?: string }> } & Tree => {
    try {
      return JSON.parse(source) as { references?: Array<{ path?: string }> } & Tree;
    } catch (error) {
      throw new ConfigEditError(`${file} is not plain JSON: ${(error as Error).message}`);
    }
  };
  const before = parse(text);
  if (!Array.isArray(before.references)) throw new ConfigEditError(`${file} has no "references" list`);
  if (before.references.some((reference) => reference.path === path)) return text;
  const list = /("references"\s*:\s*\[)([^\]]*?)(\s*\])/.exec(text);
  if (!list) throw new ConfigEditError(`${file}: "references" is not laid out as a list this command can extend`);
  const [whole, open, items, close] = list as unknown as [string, string, string, string];
  const indent = /\n(\s*)\{/.exec(items)?.[1] ?? '    ';
  const entry = `${indent}{ "path": ${JSON.stringify(path)} }`;
  const extended = items.trim() === '' ? `${open}\n${entry}${close}` : `${open}${items},\n${entry}${close}`;
  const after = text.replace(whole, () => extended);
  const expected = { ...before, references: [...before.references, { path }] };
  if (!isDeepStrictEqual(parse(after), expected)) {
    throw new ConfigEditError(`${file} could not be extended safely; add { "path": "${path}" } to its references`);
  }
  return after;
}

const listItem = /^(\s*)- +([^\s#]+)\s*(#.*)?$/;

/**
 * `text` (a module.yaml) with `topics` added to `events.consumes`: in a block list, each line goes
 * where it keeps a sorted list sorted (at the end of an unsorted one), comments untouched; a
 * one-line list is rewritten in place; a missing `consumes` becomes a one-line list.
 */
export function addConsumedEvents(text: string, topics: readonly string[], file: string): string {
  const before = parseMapping(text, file);
  const events = isMapping(before.events) ? before.events : {};
  const current = Array.isArray(events.consumes) ? events.consumes.map(String) : [];
  const missing = topics.filter((topic) => !current.includes(topic));
  if (missing.length === 0) return text;
  const sorted = current.every((topic, i) => i === 0 || current[i - 1]! <= topic);
  const wanted = sorted ? [...current, ...missing].sort() : [...current, ...missing];

  const lines = text.split('\n');
  const eventsAt = lines.findIndex((line) => /^events:\s*(#.*)?$/.test(line));
  if (eventsAt < 0) throw new ConfigEditError(`${file}: events is not laid out as a block this command can extend`);
  let end = eventsAt + 1;
  while (end < lines.length && (lines[end]!.trim() === '' || /^\s/.test(lines[end]!))) end++;
  const consumesAt = lines.findIndex((line, i) => i > eventsAt && i < end && /^\s+consumes:/.test(line));
  if (consumesAt < 0) {
    const indent = /^(\s+)\S/.exec(lines[eventsAt + 1] ?? '')?.[1] ?? '  ';
    lines.splice(eventsAt + 1, 0, `${indent}consumes: [${wanted.join(', ')}]`);
  } else {
    const [, indent, value] = /^(\s+)consumes:\s*(.*)$/.exec(lines[consumesAt]!)!;
    if (/^\[[^\]]*\]\s*(#.*)?$/.test(value!)) {
      lines[consumesAt] = `${indent}consumes: [${wanted.join(', ')}]${/\s(#.*)$/.exec(value!)?.[0] ?? ''}`;
    } else if (/^(#.*)?$/.test(value!)) {
      const items: Array<{ at: number; topic: string; indent: string }> = [];
      for (let i = consumesAt + 1; i < end; i++) {
        const item = listItem.exec(lines[i]!);
        if (item) items.push({ at: i, topic: item[2]!, indent: item[1]! });
        else if (lines[i]!.trim() !== '' && !lines[i]!.trim().startsWith('#')) break;
      }
      if (items.length === 0)
        throw new ConfigEditError(`${file}: events.consumes is not a list this command can extend`);
      const line = (topic: string): string => `${items[0]!.indent}- ${topic}`;
      if (sorted) {
        // From the last topic back, so each insertion leaves the earlier positions as they are.
        for (const topic of [...missing].sort().reverse()) {
          const next = items.find((item) => item.topic > topic);
          lines.splice(next ? next.at : items.at(-1)!.at + 1, 0, line(topic));
        }
      } else {
        lines.splice(items.at(-1)!.at + 1, 0, ...missing.map(line));
      }
    } else {
      throw new ConfigEditError(`${file}: events.consumes is not a list this command can extend`);
    }
  }
  const after = lines.join('\n');
  if (!isDeepStrictEqual(parseMapping(after, file), { ...before, events: { ...events, consumes: wanted } })) {
    throw new ConfigEditError(`${file} could not be extended safely`);
  }
  return after;
}
