import type { ApolloServerPlugin } from '@apollo/server';
import {
  getArgumentValues,
  getVariableValues,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Redis } from 'ioredis';
import { currentRequest, type Logger, type PlatformConfig } from '@platform/kernel';
import {
  accountKey,
  ipKey,
  errorBody,
  type ServiceMetrics,
  type TokenVerifier,
  RateBudgetCounter,
  rateLimitError,
  rateLimitHeaders,
  rootFieldNodes,
  type RateStanding,
} from '@platform/kernel/gateway';
import type { GraphQLError } from 'graphql';
import type { GatewayContext } from '../data-source.js';

/** Who an operation is counted against: a signed-in user, or else the client's address. */
export interface RateSubject {
  userId?: string;
  ip?: string;
}

interface FieldCounters {
  perAddress?: RateBudgetCounter;
  perArgument?: { counter: RateBudgetCounter; path: string[] };
}

/**
 * `gateway.rateLimits`: every operation counts against its caller's budget (`signedIn` per user,
 * `anonymous` per client address), and chosen root fields (`Mutation.register`, …) against
 * tighter budgets of their own, per address and per value of one argument (the target email), so
 * one victim cannot be mail-bombed from many addresses. Counters live in Redis when configured
 * (every gateway instance shares them) and fall back to each instance's memory while Redis is
 * unreachable. Disabled, nothing is counted.
 */
export class GatewayRateLimits {
  readonly enabled: boolean;
  readonly #anonymous: RateBudgetCounter;
  readonly #signedIn: RateBudgetCounter;
  readonly #fields = new Map<string, FieldCounters>();
  readonly #verifier: TokenVerifier;
  readonly #logger: Logger;

  readonly #metrics: ServiceMetrics | undefined;

  constructor(options: {
    config: PlatformConfig;
    redis?: Redis;
    verifier: TokenVerifier;
    logger: Logger;
    metrics?: ServiceMetrics;
  }) {
    this.#metrics = options.metrics;
    const settings = options.config.gateway.rateLimits;
    const store = { redis: options.redis, keyPrefix: `${options.config.redis.keyPrefix}:rate` };
    this.enabled = settings.enabled;
    this.#verifier = options.verifier;
    this.#logger = options.logger;
    this.#anonymous = new RateBudgetCounter('anonymous', settings.anonymous, store);
    this.#signedIn = new RateBudgetCounter('signed-in', settings.signedIn, store);
    for (const [field, budget] of Object.entries(settings.fields)) {
      const counters: FieldCounters = {};
      if (budget.perAddress) counters.perAddress = new RateBudgetCounter(`${field}:address`, budget.perAddress, store);
      if (budget.perArgument) {
        const { argument, ...perArgument } = budget.perArgument;
        counters.perArgument = {
          counter: new RateBudgetCounter(`${field}:${argument}`, perArgument, store),
          path: argument.split('.'),
        };
      }
      this.#fields.set(field, counters);
    }
  }

  /** Counts one operation of `subject` against its caller budget. */
  async countCaller(subject: RateSubject): Promise<RateStanding | undefined> {
    if (!this.enabled) return undefined;
    const standing = subject.userId
      ? await this.#signedIn.consume(`user:${subject.userId}`)
      : subject.ip
        ? await this.#anonymous.consume(ipKey(subject.ip))
        : undefined;
    if (standing?.refused) this.#metrics?.refusals.inc({ reason: 'rate_limited' });
    return standing;
  }

  /**
   * Express middleware for `/graphql`: counts the request against its caller's budget before
   * anything is parsed, sets the `RateLimit-*` headers, and refuses with 429 + `Retry-After`
   * (RATE_LIMITED) once the budget is used up. A token that does not verify counts as anonymous.
   */
  middleware(): RequestHandler {
    return (req: Request, res: Response, next: NextFunction) => {
      if (!this.enabled) return next();
      this.#subjectOf(req)
        .then((subject) => this.countCaller(subject))
        .then((standing) => {
          if (!standing) return next();
          res.set(rateLimitHeaders(standing));
          if (!standing.refused) return next();
          res.status(429).json(
            errorBody(`Too many requests; retry in ${standing.resetSec} s`, 'RATE_LIMITED', {
              retryAfter: standing.resetSec,
            }),
          );
        })
        .catch(next);
    };
  }

  /** Counts a document's root fields that have budgets of their own; the error to refuse with, if any. */
  async countFields(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Record<string, unknown> | undefined,
    ip: string | undefined,
  ): Promise<GraphQLError | undefined> {
    if (!this.enabled || this.#fields.size === 0) return undefined;
    const root = schema.getRootType(operation.operation);
    if (!root) return undefined;
    const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables ?? {});
    for (const node of rootFieldNodes(document, operation)) {
      const name = `${root.name}.${node.name.value}`;
      const counters = this.#fields.get(name);
      const field = root.getFields()[node.name.value];
      if (!counters || !field) continue;
      if (counters.perAddress && ip) {
        const standing = await counters.perAddress.consume(ipKey(ip));
        if (standing.refused) return this.#refuse(standing, `${name} from this address`);
      }
      if (counters.perArgument && coerced.coerced) {
        let value: unknown;
        try {
          value = getArgumentValues(field, node, coerced.coerced);
        } catch {
          continue; // execution refuses the same arguments before any resolver runs
        }
        for (const key of counters.perArgument.path) value = (value as Record<string, unknown> | undefined)?.[key];
        if (typeof value !== 'string' || value === '') continue;
        const standing = await counters.perArgument.counter.consume(accountKey(value));
        if (standing.refused) return this.#refuse(standing, `${name} for this ${counters.perArgument.path.at(-1)}`);
      }
    }
    return undefined;
  }

  /** Apollo plugin: the root-field budgets, once the operation is known (HTTP and WebSocket alike). */
  plugin(): ApolloServerPlugin<GatewayContext> {
    return {
      requestDidStart: async () => ({
        didResolveOperation: async ({ schema, document, operation, request, contextValue }) => {
          if (!operation) return;
          const ip = contextValue.clientIp ?? currentRequest()?.ip;
          const error = await this.countFields(schema, document, operation, request.variables, ip);
          if (error) throw error;
        },
      }),
    };
  }

  async #subjectOf(req: Request): Promise<RateSubject> {
    const ip = currentRequest()?.ip ?? req.ip;
    const header = req.headers.authorization;
    if (!header?.startsWith('Bearer ')) return { ip };
    try {
      const user = await this.#verifier.verify(header.slice(7).trim());
      return { userId: user.id, ip };
    } catch {
      return { ip };
    }
  }

  #refuse(standing: RateStanding, what: string): GraphQLError {
    this.#metrics?.refusals.inc({ reason: 'rate_limited' });
    this.#logger.info({ what, retryAfter: standing.resetSec }, 'rate limited');
    return rateLimitError(standing, what);
  }
}
