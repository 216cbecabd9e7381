import type { Manifest } from '@platform/kernel/tools';

export const GENERATED_HEADER = '// Generated from module.yaml by npm run generate. Do not edit.';

const pascal = (segment: string): string =>
  segment
    .split('-')
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');

/** `blog.post.read` → `PostRead`: the module prefix is implied by the file's location. */
export function permissionKey(name: string): string {
  return name.split('.').slice(1).map(pascal).join('');
}

/** Raised when two permissions of one module map to the same constant name. */
export class PermissionKeyError extends Error {
  override name = 'PermissionKeyError';
}

/** A description as a one-line TSDoc comment that cannot close itself early. */
const docComment = (text: string): string => `/** ${text.replace(/\s+/g, ' ').trim().replace(/\*\//g, '*\\/')} */`;

/**
 * The source of `src/permissions.generated.ts` for one module: a `Permission` object of
 * constants (each documented with its manifest description) and the union type of its values.
 * Output is deterministic (manifest order) and formatted as prettier would.
 */
export function renderPermissions(manifest: Pick<Manifest, 'name' | 'permissions'>): string {
  const seen = new Map<string, string>();
  const lines: string[] = [];
  for (const permission of manifest.permissions) {
    const key = permissionKey(permission.name);
    const clash = seen.get(key);
    if (clash) {
      throw new PermissionKeyError(
        `${manifest.name}: "${clash}" and "${permission.name}" both become Permission.${key}`,
      );
    }
    seen.set(key, permission.name);
    lines.push(`  ${docComment(permission.description)}`, `  ${key}: '${permission.name}',`);
  }
  const object = lines.length > 0 ? `{\n${lines.join('\n')}\n}` : '{}';
  return [
    GENERATED_HEADER,
    '',
    `/** Permissions of the ${manifest.name} module, as declared in its module.yaml. */`,
    `export const Permission = ${object} as const;`,
    '',
    'export type Permission = (typeof Permission)[keyof typeof Permission];',
    '',
  ].join('\n');
}

/** Where the permission catalogue goes: the module that owns roles validates grants against it. */
export const CATALOGUE_MODULE = 'authz';
export const CATALOGUE_FILE = 'src/catalogue.generated.ts';

/**
 * The source of authz's `src/catalogue.generated.ts`: every permission every module declares,
 * sorted by name, so grants can be checked against the whole platform without asking each
 * module at run time. Adding a module and running `npm run generate` extends it. `public` says
 * whether the module marks it public (the guest role's default allow-list).
 */
export function renderCatalogue(manifests: Array<Pick<Manifest, 'name' | 'permissions'>>): string {
  const entries = manifests
    .flatMap((manifest) => manifest.permissions.map((p) => ({ ...p, module: manifest.name })))
    .sort((a, b) => a.name.localeCompare(b.name));
  const lines = entries.map(
    (p) =>
      `  { name: ${JSON.stringify(p.name)}, module: ${JSON.stringify(p.module)}, description: ${JSON.stringify(p.description.replace(/\s+/g, ' ').trim())}, public: ${p.public === true} },`,
  );
  return [
    '// Generated from every module.yaml by npm run generate. Do not edit.',
    '',
    '/** A permission some module declares, as its manifest describes it. */',
    'export interface CataloguedPermission {',
    '  readonly name: string;',
    '  readonly module: string;',
    '  readonly description: string;',
    '  /** Its module marks it public: anonymous callers may be given it unless config says otherwise. */',
    '  readonly public: boolean;',
    '}',
    '',
    '/** Every permission of every module in this repository, sorted by name. */',
    `export const PERMISSION_CATALOGUE: readonly CataloguedPermission[] = [${lines.length > 0 ? `\n${lines.join('\n')}\n` : ''}];`,
    '',
  ].join('\n');
}
