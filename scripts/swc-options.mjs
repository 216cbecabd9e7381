// One swc configuration for running TypeScript without a build (the `register.mjs` hook and
// Jest): legacy decorators *with* metadata, which type-graphql and MikroORM need.
export const swcOptions = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
    target: 'es2023',
    keepClassNames: true,
  },
  module: { type: 'es6' },
  sourceMaps: 'inline',
};
