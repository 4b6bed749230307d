// A small OpenID Connect provider for the desk's sign-in test, following
// OpenID Connect Core 1.0 and Discovery 1.0 and RFC 7636 (PKCE) for what a
// relying party meets: the discovery document, a JWKS (RS256), an
// authorization endpoint with a sign-in page, and a token endpoint that
// checks the client, the redirect URI and the code verifier, and issues an
// ID token (with the nonce) and an access token (JWT, roles in `groups`).
// It stands in for the department's identity provider, which cannot run here.
//
//   PORT=9000 OIDC_USERS='{"grace":{"name":"Grace Hopper","groups":["caseworker"]}}' \
//     OIDC_CLIENTS='{"casework-web":"secret"}' node tests/browser/oidc-provider.mjs
//
// Prints "oidc provider listening on <issuer>" when ready.

import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { createServer } from 'node:http';

const PORT = Number(process.env.PORT ?? 0);
const USERS = JSON.parse(process.env.OIDC_USERS ?? '{}');
const CLIENTS = JSON.parse(process.env.OIDC_CLIENTS ?? '{}');
const AUDIENCE = process.env.OIDC_ACCESS_AUDIENCE ?? 'casework';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const KID = randomBytes(8).toString('hex');
const JWK = { ...publicKey.export({ format: 'jwk' }), kid: KID, alg: 'RS256', use: 'sig' };

const b64url = (data) => Buffer.from(data).toString('base64url');
function jwt(claims) {
  const head = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: KID }));
  const body = b64url(JSON.stringify(claims));
  const signature = sign('sha256', Buffer.from(`${head}.${body}`), privateKey).toString('base64url');
  return `${head}.${body}.${signature}`;
}

const codes = new Map();
let issuer;

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function send(res, status, body, type = 'application/json') {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(type === 'application/json' ? JSON.stringify(body) : body);
}

async function form(req) {
  let text = '';
  for await (const chunk of req) text += chunk;
  return new URLSearchParams(text);
}

/** The authorization request's errors, or none (Core §3.1.2.2). */
function invalidAuthorization(q) {
  if (q.get('response_type') !== 'code') return 'unsupported_response_type';
  if (!(q.get('client_id') in CLIENTS)) return 'unauthorized_client';
  if (!q.get('redirect_uri')) return 'invalid_request: redirect_uri';
  if (!q.get('scope')?.split(' ').includes('openid')) return 'invalid_scope';
  if (q.get('code_challenge_method') !== 'S256' || !q.get('code_challenge')) return 'invalid_request: PKCE S256 required';
  if (!q.get('state') || !q.get('nonce')) return 'invalid_request: state and nonce required';
  return null;
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url, issuer);
  try {
    if (req.method === 'GET' && url.pathname === '/.well-known/openid-configuration') {
      return send(res, 200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'none'],
      });
    }
    if (req.method === 'GET' && url.pathname === '/jwks') return send(res, 200, { keys: [JWK] });
    if (url.pathname === '/authorize') {
      const q = req.method === 'POST' ? await form(req) : url.searchParams;
      const invalid = invalidAuthorization(q);
      if (invalid) return send(res, 400, { error: invalid });
      if (req.method === 'GET') {
        const hidden = [...q].map(([k, v]) => `<input type="hidden" name="${escape(k)}" value="${escape(v)}">`).join('');
        return send(res, 200, `<!DOCTYPE html><html lang="en"><head><title>Sign in – test identity provider</title></head>
<body><main><h1>Sign in</h1><form method="post" action="/authorize">${hidden}
<label for="user">User</label> <input id="user" name="user" autocomplete="username">
<button type="submit">Sign in</button></form></main></body></html>`, 'text/html; charset=utf-8');
      }
      const user = q.get('user');
      const back = new URL(q.get('redirect_uri'));
      back.searchParams.set('state', q.get('state'));
      if (!(user in USERS)) {
        back.searchParams.set('error', 'access_denied');
      } else {
        const code = randomBytes(24).toString('base64url');
        codes.set(code, {
          user, client: q.get('client_id'), redirect: q.get('redirect_uri'),
          challenge: q.get('code_challenge'), nonce: q.get('nonce'), at: Date.now(),
        });
        back.searchParams.set('code', code);
      }
      res.writeHead(302, { location: back.toString() });
      return res.end();
    }
    if (req.method === 'POST' && url.pathname === '/token') {
      const body = await form(req);
      // client_secret_basic (RFC 6749 §2.3.1), or a public client.
      let client = body.get('client_id');
      const basic = req.headers.authorization?.match(/^Basic (.+)$/);
      if (basic) {
        const [id, secret] = Buffer.from(basic[1], 'base64').toString().split(':').map(decodeURIComponent);
        if (CLIENTS[id] !== secret) return send(res, 401, { error: 'invalid_client' });
        client = id;
      } else if (CLIENTS[client]) {
        return send(res, 401, { error: 'invalid_client' });
      }
      const grant = codes.get(body.get('code'));
      codes.delete(body.get('code'));
      const verifier = body.get('code_verifier') ?? '';
      if (body.get('grant_type') !== 'authorization_code' || !grant || grant.client !== client
          || grant.redirect !== body.get('redirect_uri') || Date.now() - grant.at > 60_000
          || createHash('sha256').update(verifier).digest('base64url') !== grant.challenge) {
        return send(res, 400, { error: 'invalid_grant' });
      }
      const now = Math.floor(Date.now() / 1000);
      const person = USERS[grant.user];
      const sub = `${grant.user}@idp.test`;
      return send(res, 200, {
        token_type: 'Bearer',
        expires_in: 3600,
        access_token: jwt({ iss: issuer, aud: AUDIENCE, sub, iat: now, exp: now + 3600, groups: person.groups }),
        id_token: jwt({ iss: issuer, aud: client, sub, iat: now, exp: now + 300, nonce: grant.nonce, name: person.name }),
      });
    }
    send(res, 404, { error: 'not_found' });
  } catch (err) {
    send(res, 500, { error: String(err) });
  }
});

server.listen(PORT, '127.0.0.1', () => {
  issuer = `http://127.0.0.1:${server.address().port}`;
  console.log(`oidc provider listening on ${issuer}`);
});
