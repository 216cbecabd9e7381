import type { Catalog } from './messages.js';

/**
 * The kernel's `errors` namespace: its error classes' default messages and its validation
 * messages. English is what the platform answered before it spoke other languages, byte for byte.
 */
const en = {
  unauthenticated: 'Authentication required',
  signInRequired: 'Sign in to do this',
  forbidden: 'Forbidden',
  missingPermission: 'Missing permission {{permission}}',
  notAllowed: 'Not allowed',
  notFound: '{{resource}} not found',
  notFoundWithId: '{{resource}} {{id}} not found',
  rateLimited: 'Too many attempts, try again later',
  tooManyRequests: 'Too many requests ({{what}}); retry in {{seconds}} s',
  mfaRequired: 'A second factor is required: send the code from your authenticator app',
  queryTooComplex: 'Operation exceeds the {{limit}} limit: {{measured}} (at most {{max}})',
  queryTooLargeToMeasure: 'Operation exceeds the {{limit}} limit: too large to measure (at most {{max}})',
  deadline: 'The request ran past its deadline and was stopped',
  clientGone: 'The client went away; the request was stopped',
  /** An InputError for one field: `InputError.field(name, message)`. */
  field: '{{field}}: {{message}}',
  validation: {
    uuid: 'must be a UUID',
    cursor: 'is not a valid cursor',
    pageSize: 'must be between 1 and {{max}}',
    nul: 'must not contain the NUL character (U+0000)',
    representations: 'must be objects whose __typename is an entity of this subgraph',
    fileKey: 'must be 1-8 segments of letters, digits, ".", "_" or "-" joined by "/", none starting with "."',
    contentType: 'must be a media type such as image/png',
    maxBytes: 'must be between 1 and {{max}}',
    expiresInSec: 'must be a whole number of seconds between 1 and 604800',
  },
} satisfies Catalog;

type Shape<T> = { [K in keyof T]: T[K] extends string ? string : Shape<T[K]> };

const de: Shape<typeof en> = {
  unauthenticated: 'Anmeldung erforderlich',
  signInRequired: 'Melde dich an, um das zu tun',
  forbidden: 'Nicht erlaubt',
  missingPermission: 'Fehlende Berechtigung {{permission}}',
  notAllowed: 'Nicht erlaubt',
  notFound: '{{resource}} nicht gefunden',
  notFoundWithId: '{{resource}} {{id}} nicht gefunden',
  rateLimited: 'Zu viele Versuche, versuche es später noch einmal',
  tooManyRequests: 'Zu viele Anfragen ({{what}}); erneut möglich in {{seconds}} s',
  mfaRequired: 'Ein zweiter Faktor ist erforderlich: sende den Code aus deiner Authenticator-App',
  queryTooComplex: 'Die Operation überschreitet das Limit {{limit}}: {{measured}} (höchstens {{max}})',
  queryTooLargeToMeasure: 'Die Operation überschreitet das Limit {{limit}}: zu groß zum Messen (höchstens {{max}})',
  deadline: 'Die Anfrage hat ihre Frist überschritten und wurde abgebrochen',
  clientGone: 'Der Client ist nicht mehr da; die Anfrage wurde abgebrochen',
  field: '{{field}}: {{message}}',
  validation: {
    uuid: 'muss eine UUID sein',
    cursor: 'ist kein gültiger Cursor',
    pageSize: 'muss zwischen 1 und {{max}} liegen',
    nul: 'darf das NUL-Zeichen (U+0000) nicht enthalten',
    representations: 'müssen Objekte sein, deren __typename eine Entität dieses Subgraphen ist',
    fileKey:
      'muss aus 1–8 durch "/" verbundenen Segmenten aus Buchstaben, Ziffern, ".", "_" oder "-" bestehen, keines mit "." am Anfang',
    contentType: 'muss ein Medientyp wie image/png sein',
    maxBytes: 'muss zwischen 1 und {{max}} liegen',
    expiresInSec: 'muss eine ganze Zahl von Sekunden zwischen 1 und 604800 sein',
  },
};

export const errorsCatalogs = { en, de };
