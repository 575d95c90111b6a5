// A real OpenID Connect provider (panva's oidc-provider) configured like ProConnect, for the tests:
// RS256 ID tokens, userinfo returned as a signed JWT (application/jwt), ProConnect's scopes and claims
// (email, given_name, usual_name, uid, siret), `acr` values eidas1/eidas2/eidas3.
//
// Interactions are answered automatically: the next login is the account the test posted to
// /__test/next-login (its claims and the `acr` it obtains), and consent is granted to every requested
// scope. The provider cannot "upgrade" an account's acr, so the essential-acr checks are removed from
// the login prompt: like a real identity provider without MFA it returns the lower acr, and the relying
// party must refuse it.
//
// RP-initiated logout (ProConnect's end_session_endpoint): the client's post-logout URIs come from
// POST_LOGOUT_REDIRECT_URIS; each completed sign-out is listed at GET /__test/logouts.
//
// Usage: CLIENT_ID=… CLIENT_SECRET=… REDIRECT_URIS=uri1,uri2 [POST_LOGOUT_REDIRECT_URIS=uri] node provider.mjs
// Listens on 127.0.0.1 (PORT, default: any free port) and prints "listening <issuer>" when ready.
import crypto from 'node:crypto';
import http from 'node:http';

import Provider, { interactionPolicy } from 'oidc-provider';

const { CLIENT_ID, CLIENT_SECRET, REDIRECT_URIS, POST_LOGOUT_REDIRECT_URIS = '' } = process.env;
const SCOPES = ['openid', 'email', 'given_name', 'usual_name', 'uid', 'siret'];
const accounts = new Map();
const logouts = [];
let nextLogin = null;
let provider = null;

function readJson(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => { try { resolve(JSON.parse(body || '{}')); } catch (error) { reject(error); } });
  });
}

async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { prompt, params, session } = details;
  if (prompt.name === 'login') {
    if (!nextLogin) {
      res.writeHead(409).end('no next login set by the test');
      return;
    }
    const account = nextLogin;
    accounts.set(account.sub, account);
    await provider.interactionFinished(req, res, { login: { accountId: account.sub, acr: account.acr } }, {
      mergeWithLastSubmission: false,
    });
    return;
  }
  // consent: grant every requested scope and claim
  const grant = new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  grant.addOIDCScope(String(params.scope));
  if (params.claims) {
    const claims = JSON.parse(params.claims);
    grant.addOIDCClaims(Object.keys(claims.id_token || {}));
    grant.addOIDCClaims(Object.keys(claims.userinfo || {}));
  }
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

const server = http.createServer(async (req, res) => {
  try {
    if (req.method === 'POST' && req.url === '/__test/next-login') {
      const body = await readJson(req);
      nextLogin = { sub: body.sub || crypto.randomUUID(), acr: 'eidas1', ...body };
      res.writeHead(204).end();
    } else if (req.method === 'GET' && req.url === '/__test/logouts') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(logouts));
    } else if (req.url.startsWith('/interaction/')) {
      await interaction(req, res);
    } else {
      provider.callback()(req, res);
    }
  } catch (error) {
    console.error(error);
    if (!res.headersSent) res.writeHead(500).end(String(error));
  }
});

server.listen(Number(process.env.PORT || 0), '127.0.0.1', async () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'test-rs256', use: 'sig', alg: 'RS256' };
  const policy = interactionPolicy.base();
  policy.get('login').checks.remove('essential_acrs');
  policy.get('login').checks.remove('essential_acr');
  provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        redirect_uris: REDIRECT_URIS.split(','),
        post_logout_redirect_uris: POST_LOGOUT_REDIRECT_URIS.split(',').filter(Boolean),
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
        id_token_signed_response_alg: 'RS256',
        userinfo_signed_response_alg: 'RS256',
      },
    ],
    jwks: { keys: [jwk] },
    scopes: SCOPES,
    claims: {
      openid: ['sub'],
      email: ['email'],
      given_name: ['given_name'],
      usual_name: ['usual_name'],
      uid: ['uid'],
      siret: ['siret'],
      acr: null,
    },
    acrValues: ['eidas1', 'eidas2', 'eidas3'],
    features: {
      devInteractions: { enabled: false },
      claimsParameter: { enabled: true },
      jwtUserinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        // The confirmation page: just the provider's form (a browser would submit it on a click).
        async logoutSource(ctx, form) {
          ctx.body = `<!DOCTYPE html><html><body>${form}</body></html>`;
        },
      },
    },
    interactions: { policy, url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
    // ProConnect: authorisation code valid 30 s, access token 60 s.
    ttl: { AuthorizationCode: 30, AccessToken: 60, IdToken: 60, Interaction: 300, Session: 12 * 3600, Grant: 3600 },
    async findAccount(ctx, sub) {
      const account = accounts.get(sub);
      if (!account) return undefined;
      return {
        accountId: sub,
        async claims() {
          const { email, given_name, usual_name, uid, siret } = account;
          return { sub, email, given_name, usual_name, uid, siret };
        },
      };
    },
  });
  provider.proxy = false;
  provider.on('end_session.success', (ctx) => {
    logouts.push({ accountId: ctx.oidc.session?.accountId, clientId: ctx.oidc.client?.clientId });
  });
  console.log(`listening ${issuer}`);
});
