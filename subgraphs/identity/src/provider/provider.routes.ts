import type { Router } from 'express';
import type { ModuleRuntime } from '@platform/kernel';
import type { IdentityConfig } from '../config.js';
import { messagePage, pageCsp } from '../oidc/pages.js';
import { stringsFor } from '../oidc/strings.js';
import type { ProviderSignInService } from './provider-sign-in.service.js';
import { BROKER_CALLBACK } from './providers.js';

/**
 * Where external providers send their users back (`/oidc/broker/<provider>/callback` on the
 * issuer's origin, forwarded by the gateway): a redirect to the sign-in's `returnTo`, or a page
 * saying the sign-in is unknown or over. Registered before the OpenID Connect provider's routes,
 * which answer everything else under `/oidc`.
 */
export function providerRoutes(
  router: Router,
  runtime: ModuleRuntime<IdentityConfig>,
  signIns: ProviderSignInService,
): void {
  router.get(BROKER_CALLBACK, async (req, res) => {
    res.set('cache-control', 'no-store');
    res.set('referrer-policy', 'no-referrer');
    const query = new URLSearchParams(req.originalUrl.split('?')[1] ?? '');
    const outcome = await signIns.callback(runtime.em(), String(req.params.provider), query);
    if ('redirect' in outcome) {
      res.redirect(303, outcome.redirect);
      return;
    }
    res
      .status(400)
      .set('content-security-policy', pageCsp())
      .type('html')
      .send(messagePage(stringsFor(req.get('accept-language')).expired, req.get('accept-language')));
  });
}
