import { isObjectType, type GraphQLSchema } from 'graphql';
import type { IRules } from 'graphql-shield';
import { enforceRule, type ShieldRule } from '../graphql/rules.js';

/**
 * Shield wraps a field's `resolve`, which for a subscription runs once per event: each delivery
 * is authorised anew. This adds the same rule in front of `subscribe`, so a caller without it is
 * refused when subscribing rather than left waiting on a stream it could never read.
 */
export function guardSubscriptionFields(schema: GraphQLSchema, rules: IRules): void {
  const type = schema.getSubscriptionType();
  if (!type || !isObjectType(type)) return;
  const typeRules = (rules as Record<string, unknown>)[type.name];
  for (const field of Object.values(type.getFields())) {
    const subscribe = field.subscribe;
    if (!subscribe) continue;
    const rule = (
      typeRules && typeof (typeRules as { resolve?: unknown }).resolve === 'function'
        ? typeRules
        : (typeRules as Record<string, unknown> | undefined)?.[field.name]
    ) as ShieldRule | undefined;
    if (!rule) continue; // the coverage check refused the module already
    field.subscribe = async (source, args, context: object, info) => {
      await enforceRule(rule, source, args, context, info);
      return subscribe(source, args, context, info);
    };
  }
}
