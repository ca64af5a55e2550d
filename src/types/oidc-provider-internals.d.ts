// oidc-provider 9 internals grantledger wraps (see src/oidc/client-credentials.ts): the built-in
// client_credentials grant handler and the grant helpers it is called with. Pinned by the
// package's version range; test/oidc/client-credentials.test.ts exercises the wrapper.
declare module 'oidc-provider/lib/actions/grants/client_credentials.js' {
  export const handler: (provider: unknown, helpers: Record<string, unknown>, ctx: unknown) => Promise<void>;
  export const parameters: Set<string>;
}
declare module 'oidc-provider/lib/helpers/grants.js' {
  const helpers: Record<string, (...args: unknown[]) => unknown>;
  export = helpers;
}
