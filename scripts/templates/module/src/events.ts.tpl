import type { __Resource__Field } from './__resource__/__resource__.inputs.js';

/**
 * Every event __name__ publishes (topic → what the payload carries): ids and field names, never
 * content. Services record them with the kernel's `Emit<__Name__Events>`, which checks both.
 */
export interface __Name__Events {
  '__name__.__resource__.created': { __resource__Id: string; authorId: string };
  /** `changed`: the fields whose value changed. */
  '__name__.__resource__.updated': { __resource__Id: string; authorId: string; changed: __Resource__Field[] };
  /**
   * `reason`: `requested` through the API; `author_deleted` when identity deleted the author;
   * `expired` when the retention schedule deleted it (`modules.__name__.retentionDays`).
   */
  '__name__.__resource__.deleted': {
    __resource__Id: string;
    authorId: string;
    reason: 'requested' | 'author_deleted' | 'expired';
  };
}
