// Entry point: load configuration, sign in, then run the app over one self-healing WebSocket.

import { App } from "./app.js";
import {
  AuthError,
  clearSession,
  cognitoNewPassword,
  cognitoSignIn,
  ensureFreshToken,
  loadSession,
  localSignIn,
  saveSession,
  tokenExpired,
  tokenSignIn,
} from "./auth.js";
import { loadConfig, websocketUrl } from "./config.js";
import { Connection } from "./connection.js";
import { deviceId } from "./ids.js";
import { WebPush } from "./push.js";

const $ = (id) => document.getElementById(id);

let config = null;
let session = null;
let connection = null;
let webPush = null;
let app = null;
let challenge = null;

function showForm(id) {
  for (const formId of ["login-local", "login-cognito", "login-newpw", "login-token"]) {
    $(formId).hidden = formId !== id;
  }
  const first = $(id).querySelector("input, textarea");
  if (first) setTimeout(() => first.focus(), 0);
}

function showLogin(message = "") {
  $("boot").hidden = true;
  $("app").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message;
  showForm(config.mode === "cognito" ? "login-cognito" : "login-local");
}

function setBusy(form, busy) {
  for (const el of form.querySelectorAll("button, input, textarea")) el.disabled = busy;
  form.classList.toggle("busy", busy);
}

async function attempt(form, work) {
  $("login-error").textContent = "";
  setBusy(form, true);
  try {
    const result = await work();
    if (result && result.challenge) {
      challenge = result;
      showForm("login-newpw");
      return;
    }
    if (result) startApp(result);
  } catch (err) {
    $("login-error").textContent = err instanceof AuthError ? err.message : `Sign-in failed: ${err.message}`;
  } finally {
    setBusy(form, false);
  }
}

function wireLogin() {
  $("login-local").addEventListener("submit", (e) => {
    e.preventDefault();
    const userId = $("login-user").value.trim();
    if (!userId) {
      $("login-error").textContent = "Enter a user id.";
      $("login-user").focus();
      return;
    }
    attempt(e.target, () => localSignIn(config, userId));
  });
  $("login-cognito").addEventListener("submit", (e) => {
    e.preventDefault();
    const username = $("login-username").value.trim();
    const password = $("login-password").value;
    if (!username || !password) {
      $("login-error").textContent = "Enter your username and password.";
      return;
    }
    attempt(e.target, () => cognitoSignIn(config, username, password));
  });
  $("login-newpw").addEventListener("submit", (e) => {
    e.preventDefault();
    const password = $("login-newpw-input").value;
    if (!password || !challenge) return;
    attempt(e.target, () => cognitoNewPassword(config, challenge, password));
  });
  $("login-token").addEventListener("submit", (e) => {
    e.preventDefault();
    const token = $("login-token-input").value.trim();
    if (!token) return;
    attempt(e.target, async () => tokenSignIn(token));
  });
  $("show-token-form").addEventListener("click", () => showForm("login-token"));
  $("show-password-form").addEventListener("click", () => showForm("login-cognito"));
}

function startApp(newSession) {
  session = newSession;
  saveSession(session);
  $("login").hidden = true;
  $("boot").hidden = true;
  $("login-password").value = "";
  const device = deviceId();
  let refusedBefore = false;
  connection = new Connection({
    pingIntervalMs: config.pingIntervalMs,
    getUrl: async ({ failures }) => {
      // After a refused handshake the token may be the problem: get a fresh one.
      const force = refusedBefore && failures > 0;
      try {
        session = await ensureFreshToken(config, session, { force: force && session.mode === "local" });
      } catch (err) {
        if (session.mode === "cognito" && tokenExpired(session.token)) {
          setTimeout(() => signOut(err.message), 0);
        }
        throw err;
      }
      saveSession(session);
      return websocketUrl(config, session.token, device);
    },
  });
  connection.deviceId = device;
  connection.addEventListener("status", (e) => {
    if (e.detail.state === "waiting") refusedBefore = Boolean(e.detail.refused);
    if (e.detail.state === "open") refusedBefore = false;
  });
  app = new App({ session, connection, onSignOut: () => signOut() });
  app.start();
  webPush = new WebPush(connection, config);
  connection.start();
  window.chatApp = app; // handy for debugging in the console
}

function signOut(message = "") {
  if (webPush) webPush.signOut();
  webPush = null;
  if (connection) connection.stop();
  if (app) app.destroy();
  connection = null;
  app = null;
  session = null;
  clearSession();
  history.replaceState(null, "", location.pathname + location.search);
  document.body.classList.remove("chat-open", "panel-open");
  showLogin(message);
}

async function boot() {
  config = await loadConfig();
  document.body.dataset.mode = config.mode;
  wireLogin();
  const saved = loadSession();
  if (saved && saved.mode === config.mode && (!tokenExpired(saved.token) || saved.mode === "local" || saved.refreshToken)) {
    startApp(saved);
  } else {
    if (saved) clearSession();
    showLogin(saved ? "Your session has expired. Sign in again." : "");
  }
}

boot().catch((err) => {
  console.error(err);
  $("boot").hidden = true;
  document.body.append(Object.assign(document.createElement("p"), { className: "fatal", textContent: `The app failed to start: ${err.message}` }));
});
