import { describe, expect, it } from '@jest/globals';
import { escapeHtml } from './templates.js';

describe('escapeHtml', () => {
  it('escapes all five HTML specials and leaves the rest', () => {
    expect(escapeHtml(`&<>"'`)).toBe('&amp;&lt;&gt;&quot;&#39;');
    expect(escapeHtml('Zoë & co')).toBe('Zoë &amp; co');
  });
});
