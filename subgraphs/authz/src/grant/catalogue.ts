import { PERMISSION_CATALOGUE, type CataloguedPermission } from '../catalogue.generated.js';

/**
 * Every permission the platform's modules declare: what roles may grant, what `permissions`
 * lists, and what the admin role's "everything" expands to.
 */
export class PermissionCatalogue {
  readonly #byName: Map<string, CataloguedPermission>;
  readonly #names: string[];

  constructor(entries: Iterable<CataloguedPermission> = PERMISSION_CATALOGUE) {
    this.#byName = new Map([...entries].map((entry) => [entry.name, entry]));
    this.#names = [...this.#byName.keys()].sort();
  }

  has(name: string): boolean {
    return this.#byName.has(name);
  }

  /** Every name, sorted (a fresh array each call). */
  names(): string[] {
    return [...this.#names];
  }

  /** Every entry, sorted by name. */
  list(): CataloguedPermission[] {
    return this.#names.map((name) => this.#byName.get(name)!);
  }
}
