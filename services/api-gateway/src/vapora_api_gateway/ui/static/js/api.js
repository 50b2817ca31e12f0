// The REST API as the page sees it. The access token lives in this module's memory only; the
// refresh token is an HttpOnly cookie the page cannot read (docs/ui.md, "Where the tokens live").
// Every error is an ApiError carrying the problem+json body the gateway answered.

const CLIENT = { "X-Vapora-Client": "web" };
const EARLY_S = 30; // refresh this long before the access token expires

let access = "";
let expiresAt = 0;
let user = null;
let refreshing = null;

export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

async function parse(resp) {
  if (resp.status === 204) return null;
  const type = resp.headers.get("Content-Type") || "";
  const text = await resp.text();
  let body = text;
  if (type.includes("json") && text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = { detail: text };
    }
  }
  if (!resp.ok) {
    const problem = typeof body === "object" && body ? body : { detail: String(body) || resp.statusText };
    throw new ApiError(resp.status, { status: resp.status, title: resp.statusText, ...problem });
  }
  return body;
}

function take(session) {
  access = session.access_token;
  expiresAt = Date.now() + session.expires_in * 1000;
  user = session.user;
  return user;
}

function forget() {
  access = "";
  expiresAt = 0;
  user = null;
}

export function currentUser() {
  return user;
}

export async function signIn(email, password) {
  const resp = await fetch("/api/v1/auth/session", {
    method: "POST",
    headers: { "Content-Type": "application/json", ...CLIENT },
    body: JSON.stringify({ email, password }),
  });
  return take(await parse(resp));
}

export async function signUp(email, password, displayName) {
  await parse(
    await fetch("/api/v1/auth/register", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email, password, display_name: displayName }),
    }),
  );
  return signIn(email, password); // the session cookie comes from signing in, as always
}

// One refresh at a time across this origin's tabs (a refresh token is single-use: two tabs
// sending the same cookie at once would look like reuse and revoke the session).
function refresh() {
  if (!refreshing) {
    const run = async () => {
      const resp = await fetch("/api/v1/auth/session/refresh", { method: "POST", headers: CLIENT });
      return take(await parse(resp));
    };
    const locked = navigator.locks ? navigator.locks.request("vapora-session", run) : run();
    refreshing = locked.finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

// The signed-in user after a reload (from the session cookie), or null.
export async function restore() {
  try {
    return await refresh();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return null;
    throw err;
  }
}

export async function signOut() {
  try {
    await parse(await fetch("/api/v1/auth/session", { method: "DELETE", headers: CLIENT }));
  } finally {
    forget();
  }
}

// A valid access token, refreshed when it is about to expire.
export async function accessToken() {
  if (!access || Date.now() > expiresAt - EARLY_S * 1000) await refresh();
  return access;
}

export function url(path, query = {}) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== "") params.set(k, v);
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

// api("GET", "/api/v1/tasks", {query: {...}}) / api("POST", path, {body}); the parsed answer.
export async function api(method, path, { body, query, accept } = {}) {
  for (let attempt = 0; ; attempt++) {
    const headers = { Authorization: `Bearer ${await accessToken()}` };
    if (accept) headers.Accept = accept;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const resp = await fetch(url(path, query), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (resp.status === 401 && attempt === 0) {
      access = ""; // expired or revoked early: refresh once, then try again
      continue;
    }
    return parse(resp);
  }
}
