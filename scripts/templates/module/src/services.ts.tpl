import { emitter, type ModuleRuntime } from '@platform/kernel';
import type { __Name__Config } from './config.js';
import type { __Name__Events } from './events.js';
import { __Resource__Counts } from './__resource__/__resource__.queries.js';
import { __Resource__Service } from './__resource__/__resource__.service.js';

/** Everything __name__'s consumers and resolvers use, built once the database is up. */
export interface __Name__Services {
  __resources__: __Resource__Service;
  /** The lists' `totalCount`, cached (`countCacheTtlSec`); `__resources__` drops them on every change. */
  counts: __Resource__Counts;
}

export function create__Name__Services(runtime: ModuleRuntime<__Name__Config>): __Name__Services {
  const counts = new __Resource__Counts(runtime.cache, runtime.config.countCacheTtlSec);
  return {
    __resources__: new __Resource__Service({ emit: emitter<__Name__Events>(runtime.events), counts }),
    counts,
  };
}
