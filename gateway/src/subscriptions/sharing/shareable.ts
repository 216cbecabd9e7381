import {
  getNamedType,
  Kind,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type ConstDirectiveNode,
  type DocumentNode,
  type GraphQLNamedType,
  type GraphQLSchema,
} from 'graphql';
import { PER_CALLER_TAG } from '@platform/kernel/gateway';

/** Documents checked, by their text, per schema (the answer changes only with the supergraph). */
const MAX_REMEMBERED = 1_000;

const tagged = (directives: ReadonlyArray<ConstDirectiveNode> | undefined): boolean =>
  (directives ?? []).some(
    (directive) =>
      directive.name.value === 'tag' &&
      directive.arguments?.some(
        (argument) =>
          argument.name.value === 'name' &&
          argument.value.kind === Kind.STRING &&
          argument.value.value === PER_CALLER_TAG,
      ),
  );

const typeTagged = (type: GraphQLNamedType | null | undefined): boolean =>
  !!type && [type.astNode, ...(type.extensionASTNodes ?? [])].some((node) => tagged(node?.directives));

/**
 * Whether an operation's answers can be shared by every caller holding the same permissions:
 * none of the fields it selects, nor the types it reaches, is tagged `perCaller` in the
 * supergraph. Subgraphs tag (kernel's buildModuleSchema) every field whose rule or resolver reads
 * who the caller is (`isSelf`, `me`, `mySessionRevoked`…); whatever a subgraph forgot to tag, it
 * refuses to answer in shared-answer mode (CALLER_SPECIFIC) rather than answering for the wrong
 * caller.
 */
export class ShareableOperations {
  readonly #answers = new WeakMap<GraphQLSchema, Map<string, boolean>>();

  isShareable(schema: GraphQLSchema, document: DocumentNode, text: string): boolean {
    let answers = this.#answers.get(schema);
    if (!answers) {
      answers = new Map();
      this.#answers.set(schema, answers);
    }
    const known = answers.get(text);
    if (known !== undefined) return known;
    const answer = !selectsPerCaller(schema, document);
    if (answers.size >= MAX_REMEMBERED) answers.clear();
    answers.set(text, answer);
    return answer;
  }
}

/** Whether `document` selects a field, or reaches a type, tagged per-caller in `schema`. */
export function selectsPerCaller(schema: GraphQLSchema, document: DocumentNode): boolean {
  const typeInfo = new TypeInfo(schema);
  let found = false;
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field() {
        const field = typeInfo.getFieldDef();
        if (
          tagged(field?.astNode?.directives) ||
          typeTagged(typeInfo.getParentType()) ||
          typeTagged(field ? getNamedType(field.type) : undefined)
        ) {
          found = true;
        }
      },
      InlineFragment() {
        if (typeTagged(typeInfo.getType() ? getNamedType(typeInfo.getType()!) : undefined)) found = true;
      },
    }),
  );
  return found;
}
