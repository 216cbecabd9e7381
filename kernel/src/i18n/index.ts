import { errorsCatalogs } from './errors.catalog.js';
import { registerMessages } from './messages.js';

export { DEFAULT_LOCALE, SUPPORTED_LOCALES, isSupportedLocale, negotiateLocale, type Locale } from './locale.js';
export {
  Message,
  msg,
  registerMessages,
  registeredCatalogs,
  hasMessage,
  textIn,
  type Catalog,
  type Catalogs,
  type MessageParam,
  type MessageParams,
} from './messages.js';

// The kernel's own texts are there before any error is made.
registerMessages('errors', errorsCatalogs);
