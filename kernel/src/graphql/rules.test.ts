import 'reflect-metadata';
import { describe, it, expect } from '@jest/globals';
import { execute, parse, type ExecutionResult } from 'graphql';
import { Arg, Directive, Field, FieldResolver, ID, Mutation, ObjectType, Query, Resolver, Root } from 'type-graphql';
import { buildSchema } from 'type-graphql';
import type { EntityReference } from '../module/define.js';
import {
  and,
  authenticated,
  chain,
  deny,
  dependsOnCaller,
  not,
  or,
  perCaller,
  permission,
  permissionsUsedBy,
  publicAccess,
  race,
  rule,
  ruleCoverageProblems,
  type IRules,
  type ShieldRule,
} from './rules.js';
import { buildModuleSchema, SchemaRulesError } from './schema.js';

const READ = 'notes.note.read';
const ARCHIVE = 'notes.note.archive';
const PERMISSIONS = [READ, ARCHIVE];

/** Another module's user, known here only by id: not this module's to resolve. */
@ObjectType('User')
@Directive('@key(fields: "id", resolvable: false)')
class UserStub {
  @Field(() => ID)
  id!: string;
}

@ObjectType()
@Directive('@key(fields: "id")')
class Note {
  @Field(() => ID)
  id!: string;

  @Field()
  text!: string;

  authorId!: string;
}

const NOTES = new Map([['n1', Object.assign(new Note(), { id: 'n1', text: 'hello', authorId: 'u1' })]]);

@Resolver(() => Note)
class NoteResolver {
  @Query(() => Note, { nullable: true })
  note(@Arg('id', () => ID) id: string): Note | null {
    return NOTES.get(id) ?? null;
  }

  @Mutation(() => Boolean)
  archiveNote(@Arg('id', () => ID) id: string): boolean {
    return NOTES.has(id);
  }

  @FieldResolver(() => UserStub)
  author(@Root() note: Note): UserStub {
    return { id: note.authorId };
  }
}

/** A resolver someone added later, without touching the rules. */
@Resolver()
class ExportResolver {
  @Query(() => String)
  exportNotes(): string {
    return [...NOTES.keys()].join(',');
  }
}

const resolveNote = (reference: { id: string }) => NOTES.get(reference.id) ?? null;

const RULES: IRules = {
  Query: { note: permission(READ) },
  Mutation: { archiveNote: and(authenticated, permission(ARCHIVE)) },
  Note: { id: publicAccess, text: publicAccess, author: publicAccess },
  User: publicAccess,
};
const REFERENCES: Record<string, EntityReference> = { Note: { rule: permission(READ), resolve: resolveNote } };

const classSchema = (extra: Function[] = []) =>
  buildSchema({ resolvers: [NoteResolver, ...extra], orphanedTypes: [UserStub], skipCheck: true, validate: false });

describe('permissionsUsedBy', () => {
  it('finds permission() rules inside logic rules and rule maps, and nothing else', () => {
    const named = rule('permission:look.alike.rule')(() => true);
    const tree = {
      Query: { a: or(authenticated, and(permission('a.b.c'), not(permission('a.b.d')))), b: named },
      Note: permission('a.b.e'),
    };
    expect([...permissionsUsedBy(tree)].sort()).toEqual(['a.b.c', 'a.b.d', 'a.b.e']);
  });
});

describe('dependsOnCaller', () => {
  const isOwner = rule({ cache: 'no_cache' })(() => true);
  it.each<[string, boolean, ShieldRule]>([
    ['publicAccess', false, publicAccess],
    ['deny', false, deny],
    ['authenticated', false, authenticated],
    ['permission()', false, permission('a.b.c')],
    ['logic rules made of those', false, or(authenticated, and(permission('a.b.c'), not(permission('a.b.d'))))],
    ['chain and race of those', false, chain(authenticated, race(publicAccess, deny))],
    ['perCaller(publicAccess)', true, perCaller(publicAccess)],
    ['perCaller(permission())', true, perCaller(permission('a.b.c'))],
    ['a custom rule', true, isOwner],
    ['a custom rule inside or()', true, or(isOwner, permission('a.b.c'))],
    ['perCaller() inside and()', true, and(authenticated, perCaller(permission('a.b.c')))],
    ['a look-alike of a permission rule', true, rule('permission:a.b.c')(() => true)],
  ])('%s: %s', (_name, expected, tree) => {
    expect(dependsOnCaller(tree)).toBe(expected);
  });

  it('leaves the rule it wraps unmarked, so permission() stays shared', () => {
    perCaller(permission('a.b.c'));
    expect(dependsOnCaller(permission('a.b.c'))).toBe(false);
  });
});

describe('perCaller', () => {
  const NOTE = parse('{ note(id: "n1") { id } }');
  const schemaWith = (noteRule: ShieldRule) =>
    buildModuleSchema({
      module: 'notes',
      resolvers: [NoteResolver],
      orphanedTypes: [UserStub],
      rules: { ...RULES, Query: { note: noteRule } },
      references: REFERENCES,
      permissions: PERMISSIONS,
    });
  const run = async (noteRule: ShieldRule, granted: string[], userId?: string) =>
    execute({
      schema: (await schemaWith(noteRule)).schema,
      document: NOTE,
      contextValue: { user: userId ? { id: userId } : undefined, can: async (p: string) => granted.includes(p) },
    });

  it('answers exactly as the rule it wraps', async () => {
    for (const [granted, userId] of [
      [[READ], 'u1'],
      [[], 'u1'],
      [[READ], undefined],
      [[], undefined],
    ] as const) {
      for (const guard of [permission(READ), authenticated, and(authenticated, permission(READ))]) {
        expect(await run(perCaller(guard), [...granted], userId)).toEqual(await run(guard, [...granted], userId));
      }
    }
    expect((await run(perCaller(permission(READ)), [])).errors?.[0]?.extensions).toEqual({
      code: 'FORBIDDEN',
      permission: READ,
    });
  });

  it('still counts the permissions inside it as used', async () => {
    const rules = { ...RULES, Query: { note: perCaller(permission(READ)) } };
    expect(permissionsUsedBy(rules)).toEqual(new Set([READ, ARCHIVE]));
    expect(
      ruleCoverageProblems(await classSchema(), rules, { permissions: PERMISSIONS, references: REFERENCES }),
    ).toEqual([]);
    await expect(schemaWith(perCaller(permission(READ)))).resolves.toBeDefined();
  });
});

describe('ruleCoverageProblems', () => {
  it('accepts a module whose rules, references and permissions fit', async () => {
    const problems = ruleCoverageProblems(await classSchema(), RULES, {
      permissions: PERMISSIONS,
      references: REFERENCES,
    });
    expect(problems).toEqual([]);
  });

  // Each case: what changes from the fitting module above, and the problems it must cause.
  const cases: Array<
    [string, { rules?: IRules; extra?: Function[]; permissions?: string[]; references?: object }, string[]]
  > = [
    [
      'a field without a rule',
      { rules: { ...RULES, Note: { id: publicAccess, author: publicAccess } } },
      ['Note.text has no rule'],
    ],
    ['a resolver added without a rule', { extra: [ExportResolver] }, ['Query.exportNotes has no rule']],
    [
      'a rule for a field the schema lacks',
      { rules: { ...RULES, Query: { note: permission(READ), notes: permission(READ) } } },
      ['rules name Query.notes, which the schema does not have'],
    ],
    [
      'a rule naming a permission module.yaml does not declare',
      { rules: { ...RULES, Mutation: { archiveNote: permission('notes.note.delete') } } },
      [
        'rule names permission notes.note.delete, which module.yaml does not declare',
        'module.yaml declares notes.note.archive, which no rule uses',
      ],
    ],
    [
      'a declared permission no rule uses',
      { permissions: [...PERMISSIONS, 'notes.note.export'] },
      ['module.yaml declares notes.note.export, which no rule uses'],
    ],
    [
      'an entity without a reference',
      { references: {} },
      ['entity Note (@key) has no reference: add references.Note = { rule, resolve }'],
    ],
    [
      'a reference without a rule (the bare resolver of old)',
      { references: { Note: resolveNote } },
      ['references.Note is not guarded: declare it as { rule, resolve }'],
    ],
    [
      'a reference for a type the schema lacks',
      { references: { ...REFERENCES, Post: { rule: publicAccess, resolve: resolveNote } } },
      ['references name type Post, which the schema does not have'],
    ],
  ];

  it.each(cases)('reports %s', async (_case, change, expected) => {
    const problems = ruleCoverageProblems(await classSchema(change.extra), change.rules ?? RULES, {
      permissions: change.permissions ?? PERMISSIONS,
      references: (change.references ?? REFERENCES) as Record<string, EntityReference>,
    });
    expect(problems).toEqual(expected);
  });

  it('counts a permission checked only by a reference rule as used', async () => {
    const problems = ruleCoverageProblems(await classSchema(), RULES, {
      permissions: [...PERMISSIONS, 'notes.note.federate'],
      references: { Note: { rule: permission('notes.note.federate'), resolve: resolveNote } },
    });
    expect(problems).toEqual([]);
  });
});

describe('buildModuleSchema', () => {
  const build = (references: Record<string, EntityReference>, permissions = PERMISSIONS) =>
    buildModuleSchema({
      module: 'notes',
      resolvers: [NoteResolver],
      orphanedTypes: [UserStub],
      rules: RULES,
      references,
      permissions,
    });

  it('refuses a module with problems, listing them all', async () => {
    const error = await build({}, [...PERMISSIONS, 'notes.note.export']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SchemaRulesError);
    expect((error as SchemaRulesError).problems).toEqual([
      'entity Note (@key) has no reference: add references.Note = { rule, resolve }',
      'module.yaml declares notes.note.export, which no rule uses',
    ]);
  });

  describe('tags what depends on the caller perCaller in the SDL', () => {
    const isOwner = rule({ cache: 'no_cache' })(() => true);
    const tagged = (sdl: string): string[] =>
      sdl
        .split('\n')
        .filter((line) => line.includes('@tag(name: "perCaller")'))
        .map((line) => line.trim());

    it('tags nothing when every rule is about permissions only', async () => {
      const { sdl } = await build(REFERENCES);
      expect(tagged(sdl)).toEqual([]);
    });

    it('tags perCaller() and custom rules, by field, by type-wide rule and by reference rule', async () => {
      const { sdl } = await buildModuleSchema({
        module: 'notes',
        resolvers: [NoteResolver],
        orphanedTypes: [UserStub],
        rules: {
          Query: { note: perCaller(permission(READ)) },
          Mutation: { archiveNote: and(authenticated, or(isOwner, permission(ARCHIVE))) },
          Note: { id: publicAccess, text: authenticated, author: permission(READ) },
          User: isOwner,
        },
        references: { Note: { rule: perCaller(permission(READ)), resolve: resolveNote } },
        permissions: PERMISSIONS,
      });
      expect(tagged(sdl)).toEqual([
        'id: ID! @tag(name: "perCaller")',
        'note(id: ID!): Note @tag(name: "perCaller")',
        'type Note @key(fields: "id") @tag(name: "perCaller") {',
        'archiveNote(id: ID!): Boolean! @tag(name: "perCaller")',
      ]);
    });
  });

  describe('guards _entities with the reference rule', () => {
    const ENTITIES = parse(`query ($representations: [_Any!]!) {
      _entities(representations: $representations) { ... on Note { id text } }
    }`);

    /** `_entities` for note n1, as a caller holding `granted`; the context has no shield cache yet. */
    async function lookUp(references: Record<string, EntityReference>, granted: string[], userId?: string) {
      const { schema } = await build(references);
      return (await execute({
        schema,
        document: ENTITIES,
        variableValues: { representations: [{ __typename: 'Note', id: 'n1' }] },
        contextValue: { user: userId ? { id: userId } : undefined, can: async (p: string) => granted.includes(p) },
      })) as ExecutionResult<{ _entities: unknown[] }>;
    }

    it('resolves the entity when the rule allows', async () => {
      const result = await lookUp(REFERENCES, [READ]);
      expect(result.errors).toBeUndefined();
      expect(result.data).toEqual({ _entities: [{ id: 'n1', text: 'hello' }] });
    });

    it("is FORBIDDEN, naming the permission, when the caller lacks the rule's permission", async () => {
      const result = await lookUp(REFERENCES, [ARCHIVE]);
      expect(result.data).toEqual({ _entities: [null] });
      expect(result.errors?.[0]?.extensions).toEqual({ code: 'FORBIDDEN', permission: READ });
    });

    it('keeps the error a rule returns (UNAUTHENTICATED from authenticated)', async () => {
      const result = await lookUp({ Note: { rule: authenticated, resolve: resolveNote } }, [READ]);
      expect(result.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect((await lookUp({ Note: { rule: authenticated, resolve: resolveNote } }, [], 'u1')).data).toEqual({
        _entities: [{ id: 'n1', text: 'hello' }],
      });
    });

    it('is FORBIDDEN when a rule just says no', async () => {
      const no = rule({ cache: 'strict' })(() => false);
      const result = await lookUp({ Note: { rule: or(no, permission(ARCHIVE)), resolve: resolveNote } }, [READ]);
      expect(result.data).toEqual({ _entities: [null] });
      expect(result.errors?.[0]).toMatchObject({ message: 'Missing permission notes.note.archive' });
      const denied = await lookUp({ Note: { rule: no, resolve: resolveNote } }, [READ, ARCHIVE]);
      expect(denied.errors?.[0]).toMatchObject({ message: 'Not allowed', extensions: { code: 'FORBIDDEN' } });
    });
  });
});
