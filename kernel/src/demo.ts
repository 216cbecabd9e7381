/**
 * Demo accounts for development (`demoData: true`): identity creates them and blog writes
 * posts by them, so `npm start` shows a working cross-subgraph query on an empty machine.
 * Fixed ids let modules agree without reading each other's tables.
 */
export const DEMO_USERS = [
  { id: '00000000-0000-4000-8000-000000000001', email: 'ada@example.com', displayName: 'Ada Lovelace' },
  { id: '00000000-0000-4000-8000-000000000002', email: 'grace@example.com', displayName: 'Grace Hopper' },
] as const;
