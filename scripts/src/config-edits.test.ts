import { describe, expect, it } from '@jest/globals';
import {
  addConsumedEvents,
  addProjectReference,
  addServiceEntry,
  ConfigEditError,
  nextFreePort,
} from './config-edits.js';

describe('addServiceEntry', () => {
  it.each([
    [
      'after the last entry of the block, keeping comments and what follows',
      'services: # ports\n  one: { port: 4001 }\n  # the second\n  two:\n    port: 4002\n\nmodules: {}\n',
      'services: # ports\n  one: { port: 4001 }\n  # the second\n  two:\n    port: 4002\n  notes: { port: 4005 }\n\nmodules: {}\n',
    ],
    ['into an empty flow mapping', 'host: x\nservices: {}\n', 'host: x\nservices:\n  notes: { port: 4005 }\n'],
    ['as a new block when there is none', 'host: x\n', 'host: x\nservices:\n  notes: { port: 4005 }\n'],
  ])('adds the entry %s', (_case, before, after) => {
    expect(addServiceEntry(before, 'notes', 4005)).toBe(after);
  });

  it.each([
    ['an entry for the name', 'services:\n  notes: { port: 1 }\n', /already has services\.notes/],
    ['services as a one-line flow mapping', 'services: { one: { port: 1 } }\n', /not laid out as a block/],
    ['a file that is not YAML', 'services: [\n', /not valid YAML/],
  ])('refuses a file with %s', (_case, text, message) => {
    expect(() => addServiceEntry(text, 'notes', 4005)).toThrow(ConfigEditError);
    expect(() => addServiceEntry(text, 'notes', 4005)).toThrow(message);
  });
});

describe('nextFreePort', () => {
  it('is one above every port in use in the config files, the gateway included', () => {
    const configs = new Map([
      ['config/default.yaml', { gateway: { port: 4000 }, services: { one: { port: 4001 } } }],
      ['config/production.yaml', { services: { two: { port: 4010 } } }],
    ]);
    expect(nextFreePort(configs)).toBe(4011);
    expect(nextFreePort(new Map())).toBe(4001);
  });
});

describe('addProjectReference', () => {
  const solution =
    '{\n  "files": [],\n  "references": [\n    { "path": "kernel" },\n    { "path": "subgraphs/blog" }\n  ]\n}\n';

  it('adds a one-line entry at the end, once', () => {
    const after = addProjectReference(solution, 'subgraphs/notes');
    expect(after).toBe(
      '{\n  "files": [],\n  "references": [\n    { "path": "kernel" },\n    { "path": "subgraphs/blog" },\n' +
        '    { "path": "subgraphs/notes" }\n  ]\n}\n',
    );
    expect(addProjectReference(after, 'subgraphs/notes')).toBe(after);
  });

  it('refuses a file without a references list', () => {
    expect(() => addProjectReference('{ "files": [] }', 'subgraphs/notes')).toThrow('has no "references" list');
  });
});

describe('addConsumedEvents', () => {
  const manifest = (events: string): string => `name: audit\nversion: 0.1.0\n${events}dependencies: {}\n`;

  it.each([
    [
      'into a sorted block list, each where it keeps the order, comments untouched',
      'events:\n  publishes: []\n  # every event\n  consumes:\n    - a.b.c\n    - notes.note.m\n    - z.z.z\n',
      'events:\n  publishes: []\n  # every event\n  consumes:\n    - a.b.c\n    - notes.note.a\n' +
        '    - notes.note.m\n    - notes.note.z\n    - z.z.z\n',
    ],
    [
      'at the end of an unsorted block list',
      'events:\n  consumes:\n    - x.y.z\n    - a.b.c\n',
      'events:\n  consumes:\n    - x.y.z\n    - a.b.c\n    - notes.note.z\n    - notes.note.a\n',
    ],
    [
      'into a one-line list',
      'events:\n  consumes: [a.b.c] # audited\n',
      'events:\n  consumes: [a.b.c, notes.note.a, notes.note.z] # audited\n',
    ],
    [
      'as a one-line list when there is none',
      'events:\n  publishes: []\n',
      'events:\n  consumes: [notes.note.a, notes.note.z]\n  publishes: []\n',
    ],
  ])('adds topics %s', (_case, events, expected) => {
    const topics = ['notes.note.z', 'notes.note.a'];
    const result = addConsumedEvents(manifest(events), topics, 'module.yaml');
    expect(result).toBe(manifest(expected));
  });

  it('changes nothing when every topic is there, and refuses a manifest without an events block', () => {
    const text = manifest('events:\n  consumes: [a.b.c]\n');
    expect(addConsumedEvents(text, ['a.b.c'], 'module.yaml')).toBe(text);
    expect(() => addConsumedEvents(manifest('events: { consumes: [] }\n'), ['a.b.c'], 'module.yaml')).toThrow(
      ConfigEditError,
    );
  });
});
