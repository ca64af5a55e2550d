// How revocations count what they ended: live grants, tokens and codes by kind, in the API's
// words (`revoked: {grants, access_tokens, …}`).
export const REVOKED_COUNT_KEYS: Record<string, string> = {
  Grant: 'grants',
  AccessToken: 'access_tokens',
  RefreshToken: 'refresh_tokens',
  AuthorizationCode: 'authorization_codes',
  ClientCredentials: 'client_credentials_tokens',
  DeviceCode: 'device_codes',
  BackchannelAuthenticationRequest: 'backchannel_requests',
};

/** Every key at 0, then the counts by model (as payload-store's revokeGrants returns them) added. */
export function countRevoked(...byModel: Array<Record<string, number>>): Record<string, number> {
  const revoked: Record<string, number> = Object.fromEntries(Object.values(REVOKED_COUNT_KEYS).map((k) => [k, 0]));
  for (const counts of byModel) {
    for (const [model, n] of Object.entries(counts)) {
      const key = REVOKED_COUNT_KEYS[model];
      if (key) revoked[key] = (revoked[key] ?? 0) + n;
    }
  }
  return revoked;
}

export const totalRevoked = (revoked: Record<string, number>) => Object.values(revoked).reduce((a, b) => a + b, 0);
