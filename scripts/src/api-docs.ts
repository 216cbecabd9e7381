import { Supergraph } from '@apollo/federation-internals';
import {
  astFromValue,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isScalarType,
  isUnionType,
  Kind,
  parse,
  print,
  type DefinitionNode,
  type FieldDefinitionNode,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputField,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type GraphQLType,
} from 'graphql';
import { describeRule, fieldRule, implicitlyAllowed, type RuleNames } from './api-access.js';
import { ERROR_CODES } from './api-errors.js';

export const API_DOCS_FILE = 'docs/api.md';

/** What docs/api.md needs of one module besides the supergraph: its SDL, rules, references and permissions. */
export interface ModuleApi {
  name: string;
  /** The module's subgraph SDL (schema/<name>.graphql): which fields it resolves. */
  sdl: string;
  rules: Record<string, unknown>;
  references: Record<string, { rule?: unknown } | undefined>;
  /** Names the module's rules file exports its own rules under. */
  ruleNames?: RuleNames;
  permissions: ReadonlyArray<{ name: string; description: string; public?: boolean }>;
}

interface FieldAccess {
  text: string;
  codes: Set<string>;
  perCaller: boolean;
}

const ROOTS = ['Query', 'Mutation', 'Subscription'] as const;

/** Markdown table cell: one line, no pipe. */
const cell = (text: string | null | undefined): string => (text ?? '').replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');

const anchor = (name: string): string => name.toLowerCase();

/** `[Post!]!` with the named type linked to its section. */
function typeLink(type: GraphQLType): string {
  const printed = String(type);
  const named = printed.replace(/[[\]!]/g, '');
  return `[\`${printed}\`](#${anchor(named)})`;
}

function defaultOf(arg: GraphQLArgument | GraphQLInputField): string {
  if (arg.defaultValue === undefined) return '';
  const ast = astFromValue(arg.defaultValue, arg.type);
  return ast ? `\`${print(ast)}\`` : '';
}

/** A table cell's description, with the deprecation reason when there is one. */
const described = (description: string | null | undefined, reason?: string | null): string =>
  [cell(description), reason === undefined || reason === null ? '' : `**Deprecated:** ${cell(reason)}`]
    .filter(Boolean)
    .join(' ');

const hasPerCallerTag = (node: FieldDefinitionNode): boolean =>
  (node.directives ?? []).some(
    (directive) =>
      directive.name.value === 'tag' &&
      directive.arguments?.some((arg) => arg.value.kind === Kind.STRING && arg.value.value === 'perCaller'),
  );

/** Each `Type.field` to what every module resolving it requires (shareable types may have several). */
function accessByField(modules: readonly ModuleApi[]): Map<string, Map<string, FieldAccess>> {
  const byField = new Map<string, Map<string, FieldAccess>>();
  for (const module of modules) {
    const definitions: readonly DefinitionNode[] = parse(module.sdl).definitions;
    for (const definition of definitions) {
      if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION && definition.kind !== Kind.OBJECT_TYPE_EXTENSION) continue;
      const type = definition.name.value;
      for (const field of definition.fields ?? []) {
        if ((field.directives ?? []).some((d) => d.name.value === 'external')) continue;
        const guard = fieldRule(module.rules, type, field.name.value);
        const described =
          guard === undefined && implicitlyAllowed(type)
            ? { text: 'as its parent field', codes: new Set<string>() }
            : describeRule(guard, module.ruleNames);
        const key = `${type}.${field.name.value}`;
        const entry = byField.get(key) ?? new Map<string, FieldAccess>();
        entry.set(module.name, {
          text: described.text,
          codes: new Set(described.codes),
          perCaller: hasPerCallerTag(field),
        });
        byField.set(key, entry);
      }
    }
  }
  return byField;
}

/** "`blog.post.read`", or "identity: …; blog: …" when modules differ. */
function accessText(entry: Map<string, FieldAccess> | undefined): string {
  if (!entry || entry.size === 0) return '';
  const texts = [...new Set([...entry.values()].map((access) => access.text))];
  const perCaller = [...entry.values()].some((access) => access.perCaller) ? ' (answer depends on the caller)' : '';
  if (texts.length === 1) return `${texts[0]}${perCaller}`;
  return [...entry].map(([module, access]) => `${module}: ${access.text}`).join('; ') + perCaller;
}

function errorCodes(field: GraphQLField<unknown, unknown>, entry: Map<string, FieldAccess> | undefined): string[] {
  const codes = new Set<string>();
  for (const access of entry?.values() ?? []) for (const code of access.codes) codes.add(code);
  if (field.args.length > 0) codes.add('BAD_USER_INPUT');
  return [...codes].sort();
}

const signature = (field: GraphQLField<unknown, unknown>): string => {
  const args = field.args.map(
    (arg) =>
      `${arg.name}: ${String(arg.type)}${arg.defaultValue === undefined ? '' : ` = ${defaultOf(arg).replace(/`/g, '')}`}`,
  );
  return `${field.name}${args.length ? `(${args.join(', ')})` : ''}: ${String(field.type)}`;
};

function renderRootField(
  root: string,
  field: GraphQLField<unknown, unknown>,
  access: Map<string, Map<string, FieldAccess>>,
): string[] {
  const entry = access.get(`${root}.${field.name}`);
  const out = [`### ${root}.${field.name}`, '', '```graphql', signature(field), '```', ''];
  if (field.description) out.push(field.description, '');
  if (field.deprecationReason) out.push(`**Deprecated:** ${field.deprecationReason}`, '');
  if (field.args.length > 0) {
    out.push('| argument | type | default | description |', '|---|---|---|---|');
    for (const arg of field.args) {
      out.push(
        `| \`${arg.name}\` | ${typeLink(arg.type)} | ${defaultOf(arg)} | ${described(arg.description, arg.deprecationReason)} |`,
      );
    }
    out.push('');
  }
  out.push(`Returns ${typeLink(field.type)}.`, '');
  const modules = [...(entry?.keys() ?? [])].join(', ');
  out.push(`- **Access** (${modules || 'no module'}): ${accessText(entry) || 'nobody'}`);
  const codes = errorCodes(field, entry);
  if (codes.length > 0) out.push(`- **Errors**: ${codes.map((code) => `[\`${code}\`](#${anchor(code)})`).join(', ')}`);
  out.push('');
  return out;
}

function fieldDescription(field: GraphQLField<unknown, unknown>): string {
  const parts = [described(field.description, field.deprecationReason)];
  for (const arg of field.args) {
    parts.push(
      `\`${arg.name}: ${String(arg.type)}\`${arg.defaultValue === undefined ? '' : ` = ${defaultOf(arg)}`}${arg.description ? ` ${cell(arg.description)}` : ''}`,
    );
  }
  return parts.filter(Boolean).join('<br>');
}

function renderObject(
  type: GraphQLObjectType,
  access: Map<string, Map<string, FieldAccess>>,
  modules: readonly ModuleApi[],
): string[] {
  const out = [`#### ${type.name}`, ''];
  if (type.description) out.push(type.description, '');
  const interfaces = type.getInterfaces();
  if (interfaces.length > 0)
    out.push(`Implements ${interfaces.map((i) => `[\`${i.name}\`](#${anchor(i.name)})`).join(', ')}.`, '');
  const references = modules.flatMap((module) => {
    const reference = module.references[type.name];
    return reference ? [`${module.name}: ${describeRule(reference.rule, module.ruleNames).text}`] : [];
  });
  if (references.length > 0)
    out.push(`Entity; other subgraphs look it up by key (\`_entities\`) as ${references.join('; ')}.`, '');
  out.push('| field | type | access | description |', '|---|---|---|---|');
  for (const field of Object.values(type.getFields())) {
    const entry = access.get(`${type.name}.${field.name}`);
    out.push(
      `| \`${field.name}\` | ${typeLink(field.type)} | ${cell(accessText(entry))} | ${fieldDescription(field)} |`,
    );
  }
  out.push('');
  return out;
}

function renderNamed(
  type: GraphQLNamedType,
  access: Map<string, Map<string, FieldAccess>>,
  modules: readonly ModuleApi[],
): string[] {
  if (isObjectType(type)) return renderObject(type, access, modules);
  const out = [`#### ${type.name}`, ''];
  if (type.description) out.push(type.description, '');
  if (isInputObjectType(type)) {
    out.push('| field | type | default | description |', '|---|---|---|---|');
    for (const field of Object.values(type.getFields())) {
      out.push(
        `| \`${field.name}\` | ${typeLink(field.type)} | ${defaultOf(field)} | ${described(field.description, field.deprecationReason)} |`,
      );
    }
  } else if (isEnumType(type)) {
    out.push('| value | description |', '|---|---|');
    for (const value of type.getValues())
      out.push(`| \`${value.name}\` | ${described(value.description, value.deprecationReason)} |`);
  } else if (isInterfaceType(type)) {
    out.push('| field | type | description |', '|---|---|---|');
    for (const field of Object.values(type.getFields()))
      out.push(`| \`${field.name}\` | ${typeLink(field.type)} | ${fieldDescription(field)} |`);
  } else if (isUnionType(type)) {
    out.push(
      `One of ${type
        .getTypes()
        .map((member) => `[\`${member.name}\`](#${anchor(member.name)})`)
        .join(', ')}.`,
    );
  } else if (isScalarType(type) && type.specifiedByURL) {
    out.push(`Specified by <${type.specifiedByURL}>.`);
  } else if (!type.description) {
    out.push('A scalar.');
  }
  out.push('');
  return out;
}

/** The schema clients see: the supergraph without its join and link machinery. */
export function apiSchemaOf(supergraphSdl: string): GraphQLSchema {
  return Supergraph.build(supergraphSdl).apiSchema().toGraphQLJSSchema();
}

/** docs/api.md: every type, field and argument of the supergraph, each field's access and error codes. */
export function renderApiDocs(supergraphSdl: string, modules: readonly ModuleApi[]): string {
  const schema = apiSchemaOf(supergraphSdl);
  const access = accessByField(modules);
  const out = [
    '# API reference',
    '',
    "<!-- Generated by npm run generate from schema/supergraph.graphql and each module's rules and module.yaml. Do not edit. -->",
    '',
    'Every operation, type, field and argument of the supergraph the gateway serves at `/graphql`, with what each',
    'field asks of the caller and the error codes it can answer. **Access** reads: `public` (anyone, signed in or',
    'not), `signed in`, a permission such as `blog.post.create` (held through a role, see [Permissions](#permissions);',
    "guests hold the public ones), a module's own check by name (`isSelf`: the caller is that user), combined with",
    '`and`/`or`. A refusal is `FORBIDDEN` naming the permission (`extensions.permission`), or `UNAUTHENTICATED`.',
    '"As its parent field": a wrapper (connection, edge, page info) reached only through a guarded field. How to call',
    'the API from a browser app: [clients.md](clients.md).',
    '',
    '- [Error codes](#error-codes)',
    '- [Permissions](#permissions)',
    ...ROOTS.filter((root) => schema.getType(root)).map((root) => `- [${root} fields](#${anchor(root)}-fields)`),
    '- [Types](#types)',
    '',
    '## Error codes',
    '',
    'Each error carries its code in `extensions.code`. Request errors stop the whole operation before anything runs',
    '(`data` absent); field errors null that field (and its parents up to the nearest nullable one) while the rest',
    'of the answer stands, each with its `path`. Besides the codes listed under each field, any operation can meet',
    '`RATE_LIMITED`, `QUERY_TOO_COMPLEX`, `RESPONSE_TOO_LARGE`, `TIMEOUT`, `UNAVAILABLE`, `INTERNAL_SERVER_ERROR` and',
    'the parse and validation codes.',
    '',
    '| code | HTTP | where | meaning |',
    '|---|---|---|---|',
    ...ERROR_CODES.map(
      (e) => `| <a id="${anchor(e.code)}"></a>\`${e.code}\` | ${cell(e.http)} | ${e.scope} | ${cell(e.meaning)} |`,
    ),
    '',
    '## Permissions',
    '',
    'Declared in each module\'s `module.yaml`; roles grant them (`admin` holds all; see the README, "Permissions").',
    '',
    '| permission | module | public | description |',
    '|---|---|---|---|',
    ...modules.flatMap((module) =>
      [...module.permissions]
        .sort((a, b) => a.name.localeCompare(b.name))
        .map((p) => `| \`${p.name}\` | ${module.name} | ${p.public ? 'yes' : ''} | ${cell(p.description)} |`),
    ),
    '',
  ];
  for (const root of ROOTS) {
    const type = schema.getType(root);
    if (!isObjectType(type)) continue;
    out.push(`## ${root} fields`, '');
    const fields = Object.values(type.getFields()).sort((a, b) => a.name.localeCompare(b.name));
    for (const field of fields) out.push(...renderRootField(root, field, access));
  }
  const named = Object.values(schema.getTypeMap())
    .filter((type) => !type.name.startsWith('__') && !ROOTS.includes(type.name as (typeof ROOTS)[number]))
    .sort((a, b) => a.name.localeCompare(b.name));
  const groups: Array<[string, (type: GraphQLNamedType) => boolean]> = [
    ['Objects', isObjectType],
    ['Interfaces and unions', (type) => isInterfaceType(type) || isUnionType(type)],
    ['Inputs', isInputObjectType],
    ['Enums', isEnumType],
    ['Scalars', isScalarType],
  ];
  out.push('## Types', '');
  for (const [title, test] of groups) {
    const members = named.filter(test);
    if (members.length === 0) continue;
    out.push(`### ${title}`, '');
    for (const type of members) out.push(...renderNamed(type, access, modules));
  }
  return `${out.join('\n').trimEnd()}\n`;
}
