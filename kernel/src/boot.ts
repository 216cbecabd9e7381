// What a launcher needs before it loads the rest of the kernel (which takes a second or more):
// the configuration, and embedded databases, which can then be created on another core meanwhile.
export { loadConfig } from './config/load.js';
export type { PlatformConfig } from './config/schema.js';
export {
  clusterExists,
  createEmbeddedClusters,
  embeddedDataDir,
  prepareEmbeddedTemplate,
} from './database/embedded.js';
