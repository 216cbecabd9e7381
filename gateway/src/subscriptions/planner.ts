import { Supergraph, operationFromDocument, type Schema } from '@apollo/federation-internals';
import { QueryPlanner, type FetchNode, type PlanNode } from '@apollo/query-planner';
import type { DocumentNode, GraphQLSchema } from 'graphql';

/** How a subscription splits: the root field one subgraph streams, and what other subgraphs add to each event. */
export interface SubscriptionPlan {
  primary: FetchNode;
  rest: PlanNode | undefined;
}

/**
 * The query planner over the current supergraph, kept in step with the gateway's (it is fed
 * from `onSchemaLoadOrUpdate`, so a hot-reloaded supergraph plans subscriptions too). The
 * pinned @apollo/query-planner plans subscriptions; @apollo/gateway just refuses to run them.
 */
export class SubscriptionPlanner {
  #planner: QueryPlanner | undefined;
  #apiSchema: Schema | undefined;
  #supergraphSchema: GraphQLSchema | undefined;
  #clientSchema: GraphQLSchema | undefined;

  update(coreSupergraphSdl: string, clientSchema: GraphQLSchema): void {
    const supergraph = Supergraph.build(coreSupergraphSdl);
    this.#planner = new QueryPlanner(supergraph);
    this.#apiSchema = supergraph.apiSchema();
    this.#supergraphSchema = supergraph.schema.toGraphQLJSSchema();
    this.#clientSchema = clientSchema;
  }

  /** The schema clients' operations are validated against. */
  get clientSchema(): GraphQLSchema | undefined {
    return this.#clientSchema;
  }

  get apiSchema(): Schema {
    if (!this.#apiSchema) throw new Error('supergraph not loaded');
    return this.#apiSchema;
  }

  get supergraphSchema(): GraphQLSchema {
    if (!this.#supergraphSchema) throw new Error('supergraph not loaded');
    return this.#supergraphSchema;
  }

  plan(document: DocumentNode, operationName: string | undefined): SubscriptionPlan {
    if (!this.#planner || !this.#apiSchema) throw new Error('supergraph not loaded');
    const operation = operationFromDocument(this.#apiSchema, document, { operationName });
    const plan = this.#planner.buildQueryPlan(operation);
    if (plan.node?.kind !== 'Subscription') throw new Error('not a subscription plan');
    return { primary: plan.node.primary, rest: plan.node.rest };
  }
}
