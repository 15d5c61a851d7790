// Sign-in: the local stack's dev token endpoint, or a Cognito user pool (USER_PASSWORD_AUTH or a
// pasted ID token). The session lives in localStorage so a reload stays signed in.

const SESSION_KEY = "chat.session";

export class AuthError extends Error {}

export function decodeJwt(token) {
  try {
    const part = String(token).split(".")[1];
    const b64 = part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "=");
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
}

export function tokenExpired(token, skewSeconds = 30) {
  const claims = decodeJwt(token);
  if (!claims || typeof claims.exp !== "number") return false;
  return claims.exp * 1000 < Date.now() + skewSeconds * 1000;
}

export function loadSession() {
  try {
    const raw = localStorage.getItem(SESSION_KEY);
    const session = raw ? JSON.parse(raw) : null;
    return session && session.token && session.userId ? session : null;
  } catch {
    return null;
  }
}

export function saveSession(session) {
  try {
    localStorage.setItem(SESSION_KEY, JSON.stringify(session));
  } catch {
    /* private mode: the session lasts for this page only */
  }
}

export function clearSession() {
  try {
    localStorage.removeItem(SESSION_KEY);
  } catch {
    /* ignore */
  }
}

function sessionFromToken(mode, token, extra = {}) {
  const claims = decodeJwt(token);
  if (!claims || !claims.sub) throw new AuthError("That token is not a valid JWT (no subject).");
  if (tokenExpired(token, 0)) throw new AuthError("That token has expired. Sign in again.");
  const label = extra.label || claims["cognito:username"] || claims.email || claims.sub;
  return { mode, userId: claims.sub, token, label, ...extra };
}

// ---- local stack -----------------------------------------------------------------------------

export async function localToken(config, userId) {
  const url = new URL(config.tokenUrl || "/dev/token", location.href);
  url.searchParams.set("userId", userId);
  let response;
  try {
    response = await fetch(url, { cache: "no-store" });
  } catch {
    throw new AuthError("Can't reach the local server. Is it running?");
  }
  let payload = null;
  try {
    payload = await response.json();
  } catch {
    /* not JSON */
  }
  if (!response.ok || !payload || !payload.token) {
    if (response.status === 404) {
      throw new AuthError("This server has no local sign-in endpoint. Is the local stack running, or should config.json use Cognito?");
    }
    const detail = payload && (payload.message || payload.error);
    throw new AuthError(detail ? `Sign-in refused: ${detail}` : `Sign-in refused (HTTP ${response.status}).`);
  }
  return payload.token;
}

export async function localSignIn(config, userId) {
  const token = await localToken(config, userId);
  const session = sessionFromToken("local", token, { label: userId, localUserId: userId });
  return session;
}

// ---- Cognito ---------------------------------------------------------------------------------

async function cognitoCall(config, target, body) {
  const region = config.cognito.region;
  if (!region || !config.cognito.clientId) throw new AuthError("Cognito is not configured (region / clientId).");
  let response;
  try {
    response = await fetch(`https://cognito-idp.${region}.amazonaws.com/`, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": `AWSCognitoIdentityProviderService.${target}`,
      },
      body: JSON.stringify(body),
    });
  } catch {
    throw new AuthError("Can't reach the sign-in service. Check your connection.");
  }
  const payload = await response.json().catch(() => ({}));
  if (!response.ok) {
    const type = String(payload.__type || "").split("#").pop();
    const messages = {
      NotAuthorizedException: "Wrong username or password.",
      UserNotFoundException: "Wrong username or password.",
      UserNotConfirmedException: "This account is not confirmed yet.",
      PasswordResetRequiredException: "A password reset is required for this account.",
      InvalidPasswordException: payload.message || "That password does not meet the rules.",
      TooManyRequestsException: "Too many attempts. Wait a moment and try again.",
    };
    throw new AuthError(messages[type] || payload.message || `Sign-in failed (HTTP ${response.status}).`);
  }
  return payload;
}

function cognitoResult(payload, username, previousRefresh) {
  const result = payload.AuthenticationResult;
  if (!result || !result.IdToken) throw new AuthError("Sign-in did not return an ID token.");
  return sessionFromToken("cognito", result.IdToken, {
    refreshToken: result.RefreshToken || previousRefresh || null,
    username,
  });
}

/** Returns a session, or {challenge: "NEW_PASSWORD_REQUIRED", session, username}. */
export async function cognitoSignIn(config, username, password) {
  const payload = await cognitoCall(config, "InitiateAuth", {
    AuthFlow: "USER_PASSWORD_AUTH",
    ClientId: config.cognito.clientId,
    AuthParameters: { USERNAME: username, PASSWORD: password },
  });
  if (payload.ChallengeName === "NEW_PASSWORD_REQUIRED") {
    return { challenge: payload.ChallengeName, session: payload.Session, username };
  }
  if (payload.ChallengeName) throw new AuthError(`Sign-in needs ${payload.ChallengeName}, which this client does not support.`);
  return cognitoResult(payload, username);
}

export async function cognitoNewPassword(config, challenge, newPassword) {
  const payload = await cognitoCall(config, "RespondToAuthChallenge", {
    ChallengeName: "NEW_PASSWORD_REQUIRED",
    ClientId: config.cognito.clientId,
    Session: challenge.session,
    ChallengeResponses: { USERNAME: challenge.username, NEW_PASSWORD: newPassword },
  });
  return cognitoResult(payload, challenge.username);
}

export async function cognitoRefresh(config, session) {
  if (!session.refreshToken) throw new AuthError("Your session has expired. Sign in again.");
  const payload = await cognitoCall(config, "InitiateAuth", {
    AuthFlow: "REFRESH_TOKEN_AUTH",
    ClientId: config.cognito.clientId,
    AuthParameters: { REFRESH_TOKEN: session.refreshToken },
  });
  return cognitoResult(payload, session.username, session.refreshToken);
}

export function tokenSignIn(token) {
  return sessionFromToken("cognito", token.trim());
}

/** A fresh-enough token for (re)connecting; refreshes or re-issues it when it expired. */
export async function ensureFreshToken(config, session, { force = false } = {}) {
  if (!force && !tokenExpired(session.token)) return session;
  if (session.mode === "local") {
    const token = await localToken(config, session.localUserId || session.userId);
    return { ...session, token };
  }
  if (session.refreshToken) return cognitoRefresh(config, session);
  if (!tokenExpired(session.token)) return session;
  throw new AuthError("Your session has expired. Sign in again.");
}
