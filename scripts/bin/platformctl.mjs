#!/usr/bin/env node
// Runs the TypeScript sources directly (swc hook with decorator metadata), no build needed.
import '../register.mjs';
await import('../src/platformctl.ts');
