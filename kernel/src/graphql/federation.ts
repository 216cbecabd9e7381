/**
 * The one place the Federation 2 spec version is set. Composition 2.14 understands up to
 * v2.9; every subgraph links the same version.
 */
export const FEDERATION_VERSION = 'v2.9';

export const FEDERATION_DIRECTIVES = [
  '@key',
  '@shareable',
  '@external',
  '@requires',
  '@provides',
  '@inaccessible',
  '@tag',
  '@override',
  '@interfaceObject',
] as const;

export const FEDERATION_LINK = `extend schema @link(url: "https://specs.apollo.dev/federation/${FEDERATION_VERSION}", import: [${FEDERATION_DIRECTIVES.map((d) => `"${d}"`).join(', ')}])`;
