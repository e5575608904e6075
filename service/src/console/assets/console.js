// flipframe console: sign-in (authorization code + PKCE), uploads with
// progress, and the processing log updating live. No framework, no build.
//
// Where tokens live: the access token only in this script's memory; the
// refresh token in sessionStorage (this tab only, gone when it closes, never
// sent by the browser on its own), so a reload does not sign the user out.
// Nothing is written to localStorage or cookies.
"use strict";

const $ = (id) => document.getElementById(id);
const CALLBACK_PATH = "/console/callback";
const PENDING_SIGN_IN = "flipframe.sign-in";
const REFRESH_TOKEN = "flipframe.refresh";
const POLL_MS = 1500;

let settings = null;
const session = { accessToken: null, username: null, refreshTimer: 0 };

// ---------- sign-in ----------

function base64url(bytes) {
  let text = "";
  for (const b of new Uint8Array(bytes)) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function randomString() {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

async function sha256(text) {
  const bytes = new TextEncoder().encode(text);
  if (crypto.subtle) return crypto.subtle.digest("SHA-256", bytes);
  return sha256Fallback(bytes); // plain http on a LAN address has no crypto.subtle
}

function redirectUri() {
  return location.origin + CALLBACK_PATH;
}

async function signIn() {
  const verifier = randomString();
  const state = randomString();
  sessionStorage.setItem(PENDING_SIGN_IN, JSON.stringify({ verifier, state }));
  const url = new URL(settings.sign_in.authorization_endpoint, location.origin);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: settings.sign_in.client_id,
    redirect_uri: redirectUri(),
    scope: settings.sign_in.scope,
    state,
    code_challenge: base64url(await sha256(verifier)),
    code_challenge_method: "S256",
  }).toString();
  location.assign(url.toString());
}

async function tokenRequest(params) {
  const response = await fetch(new URL(settings.sign_in.token_endpoint, location.origin), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ client_id: settings.sign_in.client_id, ...params }),
    credentials: "omit",
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error_description || body.detail || `sign-in failed (${response.status})`);
  return body;
}

async function finishSignIn() {
  const query = new URLSearchParams(location.search);
  const pending = JSON.parse(sessionStorage.getItem(PENDING_SIGN_IN) || "null");
  sessionStorage.removeItem(PENDING_SIGN_IN);
  history.replaceState(null, "", "/");
  if (query.get("error")) throw new Error(query.get("error_description") || query.get("error"));
  if (!pending || query.get("state") !== pending.state || !query.get("code")) {
    throw new Error("That sign-in could not be completed (it was started elsewhere or expired). Please sign in again.");
  }
  const tokens = await tokenRequest({
    grant_type: "authorization_code",
    code: query.get("code"),
    redirect_uri: redirectUri(),
    code_verifier: pending.verifier,
  });
  useTokens(tokens);
}

function claims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(decodeURIComponent(escape(atob(part))));
  } catch {
    return {};
  }
}

function useTokens(tokens) {
  session.accessToken = tokens.access_token;
  const c = claims(tokens.access_token);
  session.username = c["cognito:username"] || c.username || c.sub || "you";
  if (tokens.refresh_token) sessionStorage.setItem(REFRESH_TOKEN, tokens.refresh_token);
  clearTimeout(session.refreshTimer);
  const life = Number(tokens.expires_in) || 3600;
  // Renew a minute before expiry (or at three quarters of a short life).
  const delay = Math.max(life * 0.75, life - 60) * 1000;
  session.refreshTimer = setTimeout(() => refresh().catch(endSession), delay);
}

async function refresh() {
  const token = sessionStorage.getItem(REFRESH_TOKEN);
  if (!token) throw new Error("no refresh token");
  useTokens(await tokenRequest({ grant_type: "refresh_token", refresh_token: token }));
}

function endSession() {
  clearTimeout(session.refreshTimer);
  session.accessToken = null;
  sessionStorage.removeItem(REFRESH_TOKEN);
  stopPolling();
  showSignedOut("Your session has ended. Sign in again to continue.");
}

async function signOut() {
  const token = sessionStorage.getItem(REFRESH_TOKEN);
  clearTimeout(session.refreshTimer);
  session.accessToken = null;
  sessionStorage.removeItem(REFRESH_TOKEN);
  if (token && settings.sign_in.revocation_endpoint) {
    await fetch(new URL(settings.sign_in.revocation_endpoint, location.origin), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token, client_id: settings.sign_in.client_id }),
      credentials: "omit",
    }).catch(() => {});
  }
  const url = new URL(settings.sign_in.end_session_endpoint, location.origin);
  url.search = new URLSearchParams({ client_id: settings.sign_in.client_id, logout_uri: location.origin + "/" }).toString();
  location.assign(url.toString());
}

// ---------- API ----------

class Problem extends Error {
  constructor(status, body) {
    super(body.detail || body.title || `HTTP ${status}`);
    this.status = status;
    this.code = body.code;
  }
}

async function api(path, options = {}) {
  const response = await fetch(path, {
    ...options,
    headers: { ...(options.headers || {}), authorization: `Bearer ${session.accessToken}` },
  });
  if (response.status === 401) {
    endSession();
    throw new Problem(401, { detail: "signed out" });
  }
  if (!response.ok) throw new Problem(response.status, await response.json().catch(() => ({})));
  return response;
}

// ---------- uploads ----------

const queue = [];
let running = 0;

function addFiles(files) {
  for (const file of files) {
    const row = $("transfer").content.firstElementChild.cloneNode(true);
    row.querySelector(".file").textContent = file.name;
    row.querySelector("progress").setAttribute("aria-label", `Upload of ${file.name}`);
    row.querySelector(".outcome").textContent = "Waiting…";
    $("transfers").prepend(row);
    queue.push({ file, row });
  }
  pump();
}

function pump() {
  while (running < settings.upload.parallel && queue.length) {
    const job = queue.shift();
    running += 1;
    upload(job).finally(() => {
      running -= 1;
      pump();
    });
  }
}

function outcome(row, text, kind) {
  const element = row.querySelector(".outcome");
  element.textContent = text;
  element.className = `outcome ${kind || ""}`;
}

async function upload({ file, row }) {
  const progress = row.querySelector("progress");
  if (file.size > settings.upload.max_bytes) {
    progress.value = 0;
    outcome(row, `Refused: ${file.name} is larger than the ${formatBytes(settings.upload.max_bytes)} limit`, "refused");
    return;
  }
  for (let attempt = 0; ; attempt += 1) {
    try {
      const presigned = settings.upload.inline_max_bytes != null && file.size > settings.upload.inline_max_bytes;
      outcome(row, "Uploading…");
      const entry = presigned ? await sendPresigned(file, progress) : await sendInline(file, progress);
      progress.value = 100;
      row.dataset.id = entry.id;
      outcome(row, "Accepted — processing", "accepted");
      log.upsert(entry, true);
      return;
    } catch (error) {
      if (error.retryAfter != null && attempt < 5) {
        outcome(row, `Server busy — retrying in ${error.retryAfter} s`);
        await new Promise((resolve) => setTimeout(resolve, error.retryAfter * 1000));
        continue;
      }
      progress.value = 0;
      outcome(row, `Refused: ${error.message}`, "refused");
      if (error.id) log.reload();
      return;
    }
  }
}

// XMLHttpRequest, because fetch reports no upload progress.
function send(method, url, headers, body, progress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) progress.value = Math.round((event.loaded / event.total) * 100);
    };
    xhr.onload = () => resolve(xhr);
    xhr.onerror = () => reject(Object.assign(new Error("the connection failed"), { retryAfter: 2 }));
    xhr.send(body);
  });
}

function failure(xhr) {
  let body = {};
  try {
    body = JSON.parse(xhr.responseText);
  } catch {}
  const error = new Error(body.detail || body.title || `HTTP ${xhr.status}`);
  error.id = body.id;
  if (xhr.status === 429 || xhr.status === 503) error.retryAfter = Number(xhr.getResponseHeader("retry-after")) || 2;
  if (xhr.status === 401) endSession();
  return error;
}

async function sendInline(file, progress) {
  const url = `/v1/images?filename=${encodeURIComponent(file.name)}`;
  const headers = { authorization: `Bearer ${session.accessToken}`, "content-type": file.type || "application/octet-stream" };
  const xhr = await send("POST", url, headers, file, progress);
  if (xhr.status !== 202) throw failure(xhr);
  return JSON.parse(xhr.responseText);
}

// Large files go straight to object storage; processing validates them there.
async function sendPresigned(file, progress) {
  const response = await api("/v1/uploads", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ filename: file.name, content_type: file.type || "application/octet-stream" }),
  });
  const ticket = await response.json();
  const xhr = await send(ticket.upload.method, ticket.upload.url, ticket.upload.headers, file, progress);
  if (xhr.status < 200 || xhr.status > 299) throw new Error(`storage refused the upload (HTTP ${xhr.status})`);
  return ticket.entry;
}

// ---------- the log ----------

const log = {
  entries: new Map(), // id -> { entry, row }
  cursor: null,
  filters: {},
  pollTimer: 0,

  async reload() {
    this.clear();
    $("log-state").textContent = "Loading…";
    $("log-state").className = "state";
    await this.page(null);
  },

  clear() {
    for (const { row } of this.entries.values()) revoke(row);
    this.entries.clear();
    $("log").replaceChildren();
    this.cursor = null;
  },

  async page(cursor) {
    const query = new URLSearchParams({ limit: "20" });
    if (cursor) query.set("cursor", cursor);
    for (const [name, value] of Object.entries(this.filters)) if (value) query.set(name, value);
    try {
      const page = await (await api(`/v1/images?${query}`)).json();
      for (const entry of page.items) this.upsert(entry, false);
      this.cursor = page.next_cursor || null;
      $("more").hidden = !this.cursor;
      this.describe();
      this.schedule();
    } catch (error) {
      if (error.status === 401) return;
      $("log-state").textContent = `The log could not be loaded: ${error.message}.`;
      $("log-state").className = "state error";
      const retry = document.createElement("button");
      retry.type = "button";
      retry.className = "quiet";
      retry.textContent = "Retry";
      retry.addEventListener("click", () => this.reload());
      $("log-state").append(" ", retry);
    }
  },

  describe() {
    const state = $("log-state");
    state.className = "state";
    const filtered = Object.values(this.filters).some(Boolean);
    if (this.entries.size) state.textContent = "";
    else state.textContent = filtered ? "No uploads match these filters." : "No uploads yet. Drop photos above to start.";
  },

  matches(entry) {
    const { status, uploader } = this.filters;
    return (!status || entry.status === status) && (!uploader || entry.uploader.username === uploader);
  },

  upsert(entry, isNew) {
    const known = this.entries.get(entry.id);
    if (!known && !this.matches(entry)) return;
    const row = known ? known.row : $("row").content.firstElementChild.cloneNode(true);
    if (!known) {
      row.addEventListener("click", (event) => act(event, this.entries.get(entry.id)));
      if (isNew) $("log").prepend(row);
      else $("log").append(row);
    }
    this.entries.set(entry.id, { entry, row });
    render(entry, row);
    followTransfer(entry);
    this.describe();
    this.schedule();
  },

  // Poll the unfinished entries until every one is done or failed.
  schedule() {
    if (this.pollTimer) return;
    const unfinished = [...this.entries.values()].some(({ entry }) => !finished(entry));
    if (unfinished) this.pollTimer = setTimeout(() => this.poll(), POLL_MS);
  },

  async poll() {
    this.pollTimer = 0;
    const open = [...this.entries.values()].filter(({ entry }) => !finished(entry)).slice(0, 20);
    await Promise.all(
      open.map(async ({ entry }) => {
        try {
          this.upsert(await (await api(`/v1/images/${entry.id}`)).json(), false);
        } catch {}
      }),
    );
    if (session.accessToken) this.schedule();
  },
};

// The upload list follows its files to the end of processing.
function followTransfer(entry) {
  const row = [...$("transfers").children].find((r) => r.dataset.id === entry.id);
  if (!row) return;
  if (entry.status === "done") outcome(row, "Done", "accepted");
  else if (entry.status === "failed") outcome(row, `Failed: ${entry.failure ? entry.failure.message : "processing failed"}`, "refused");
}

function stopPolling() {
  clearTimeout(log.pollTimer);
  log.pollTimer = 0;
}

function finished(entry) {
  return entry.status === "done" || entry.status === "failed";
}

function render(entry, row) {
  row.dataset.status = entry.status;
  row.dataset.id = entry.id;
  const name = entry.filename || entry.id;
  row.querySelector(".name").textContent = name;
  const original = entry.original;
  const facts = [entry.uploader.username, new Date(entry.created_at).toLocaleString()];
  if (original) facts.push(formatBytes(original.bytes), `${original.width}×${original.height}`);
  row.querySelector(".meta").textContent = facts.join(" · ");
  row.querySelector(".status").textContent = entry.status;
  const failure = row.querySelector(".failure");
  failure.hidden = !entry.failure;
  failure.textContent = entry.failure ? `${entry.failure.code}: ${entry.failure.message}` : "";
  const done = entry.status === "done";
  for (const button of row.querySelectorAll(".actions button")) {
    const needs = button.dataset.action === "original" ? Boolean(original) : done;
    button.hidden = !needs;
    button.setAttribute("aria-label", `${button.textContent} of ${name}`);
  }
  if (done && !row.dataset.shown) showVersion(row, entry, "transformed");
}

async function showVersion(row, entry, version) {
  row.dataset.shown = version;
  const img = row.querySelector(".thumb img");
  try {
    const blob = await (await api(`/v1/images/${entry.id}/${version}`)).blob();
    revoke(row);
    img.src = URL.createObjectURL(blob);
    img.alt = `${version === "original" ? "Original" : "1280×720 version"} of ${entry.filename || entry.id}`;
    img.dataset.version = version;
    img.hidden = false;
    row.querySelector(".placeholder").hidden = true;
    const toggle = row.querySelector('[data-action="toggle"]');
    toggle.textContent = version === "original" ? "Show 1280×720" : "Show original";
    toggle.setAttribute("aria-label", `${toggle.textContent} of ${entry.filename || entry.id}`);
  } catch {
    delete row.dataset.shown;
  }
}

function revoke(row) {
  const img = row.querySelector(".thumb img");
  if (img.src.startsWith("blob:")) URL.revokeObjectURL(img.src);
}

async function act(event, known) {
  const button = event.target.closest("button[data-action]");
  if (!button || !known) return;
  const { entry, row } = known;
  const action = button.dataset.action;
  if (action === "toggle") {
    await showVersion(row, entry, row.dataset.shown === "original" ? "transformed" : "original");
    return;
  }
  button.disabled = true;
  try {
    const blob = await (await api(`/v1/images/${entry.id}/${action}`)).blob();
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = downloadName(entry, action, blob.type);
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
  } catch (error) {
    notice(`The download failed: ${error.message}`);
  } finally {
    button.disabled = false;
  }
}

function downloadName(entry, version, type) {
  const name = entry.filename || entry.id;
  if (version === "original") return name;
  const stem = name.replace(/\.[^.]*$/, "");
  return `${stem}-1280x720.${type === "image/png" ? "png" : "jpg"}`;
}

function formatBytes(bytes) {
  const units = ["B", "KB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit && value < 10 ? 1 : 0)} ${units[unit]}`;
}

// ---------- page states ----------

function notice(text) {
  $("notice").textContent = text || "";
  $("notice").hidden = !text;
}

function showSignedOut(message) {
  $("loading").hidden = true;
  $("workspace").hidden = true;
  $("session").hidden = true;
  $("welcome").hidden = false;
  log.clear();
  notice(message);
}

function showWorkspace() {
  $("loading").hidden = true;
  $("welcome").hidden = true;
  $("workspace").hidden = false;
  $("session").hidden = false;
  $("who").textContent = `Signed in as ${session.username}`;
  const limits = [`Up to ${formatBytes(settings.upload.max_bytes)} each`, "JPEG, PNG, WebP, GIF, BMP or TIFF"];
  $("limits").textContent = limits.join(" · ");
  log.reload();
}

function wire() {
  $("sign-in").addEventListener("click", () => signIn().catch((e) => notice(e.message)));
  $("sign-out").addEventListener("click", () => signOut());
  $("files").addEventListener("change", (event) => {
    addFiles([...event.target.files]);
    event.target.value = "";
  });
  const drop = $("drop");
  for (const type of ["dragenter", "dragover"]) {
    drop.addEventListener(type, (event) => {
      event.preventDefault();
      drop.classList.add("over");
    });
  }
  for (const type of ["dragleave", "drop"]) drop.addEventListener(type, () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    addFiles([...event.dataTransfer.files]);
  });
  // A file dropped outside the zone must not navigate away from the console.
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());
  $("filters").addEventListener("submit", (event) => {
    event.preventDefault();
    log.filters = { status: $("filter-status").value, uploader: $("filter-uploader").value.trim() };
    stopPolling();
    log.reload();
  });
  $("more").addEventListener("click", () => log.page(log.cursor));
}

async function start() {
  wire();
  try {
    settings = await (await fetch("/console/config.json")).json();
  } catch {
    $("loading").textContent = "The service could not be reached. Reload to try again.";
    return;
  }
  if (!settings.sign_in) {
    showSignedOut("Sign-in is not configured on this deployment (FLIPFRAME_COGNITO_DOMAIN).");
    $("sign-in").disabled = true;
    return;
  }
  try {
    if (location.pathname === CALLBACK_PATH) await finishSignIn();
    else if (sessionStorage.getItem(REFRESH_TOKEN)) await refresh();
  } catch (error) {
    sessionStorage.removeItem(REFRESH_TOKEN);
    showSignedOut(error.message === "no refresh token" ? "" : `Sign-in failed: ${error.message}`);
    return;
  }
  if (session.accessToken) showWorkspace();
  else showSignedOut("");
}

// SHA-256 for pages served over plain http to a non-loopback address,
// where browsers withhold crypto.subtle (FIPS 180-4).
function sha256Fallback(bytes) {
  const k = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
    0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
    0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
    0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2,
  ]);
  const h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const length = Math.ceil((bytes.length + 9) / 64) * 64;
  const data = new Uint8Array(length);
  data.set(bytes);
  data[bytes.length] = 0x80;
  new DataView(data.buffer).setUint32(length - 4, bytes.length * 8);
  const w = new Uint32Array(64);
  const rotr = (x, n) => (x >>> n) | (x << (32 - n));
  for (let offset = 0; offset < length; offset += 64) {
    const view = new DataView(data.buffer, offset, 64);
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(i * 4);
    for (let i = 16; i < 64; i++) {
      const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
      const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    let [a, b, c, d, e, f, g, hh] = h;
    for (let i = 0; i < 64; i++) {
      const t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
      const t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      [hh, g, f, e, d, c, b, a] = [g, f, e, (d + t1) >>> 0, c, b, a, (t1 + t2) >>> 0];
    }
    const next = [a, b, c, d, e, f, g, hh];
    for (let i = 0; i < 8; i++) h[i] = (h[i] + next[i]) >>> 0;
  }
  const out = new DataView(new ArrayBuffer(32));
  h.forEach((value, i) => out.setUint32(i * 4, value));
  return out.buffer;
}

start();
