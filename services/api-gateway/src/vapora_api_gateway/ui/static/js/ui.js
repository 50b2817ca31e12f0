// Small pieces every page uses: loading and error states, badges, number and time formats.

import { ApiError } from "./api.js";
import { html, useCallback, useEffect, useState } from "./html.js";

export const STATES = ["submitted", "assigned", "running", "done", "failed", "cancelled"];
export const TERMINAL = ["done", "failed", "cancelled"];
export const RANK = { submitted: 1, assigned: 2, running: 3, done: 4, failed: 4, cancelled: 4 };
export const PRIORITIES = ["critical", "high", "normal", "low"];

// An error as the API said it: title, status and the problem's detail.
export function Problem({ error, what = "" }) {
  if (!error) return null;
  const p = error instanceof ApiError ? error.problem : { title: "Error", detail: String(error.message || error) };
  return html`<div class="problem" role="alert">
    <strong>${what ? `${what}: ` : ""}${p.title || "Error"}${p.status ? ` (${p.status})` : ""}</strong>
    <span class="detail">${p.detail}</span>
  </div>`;
}

export function Empty({ children }) {
  return html`<p class="empty">${children}</p>`;
}

export function Loading({ what = "" }) {
  return html`<p class="loading" aria-busy="true">Loading${what ? ` ${what}` : ""}…</p>`;
}

export function StateBadge({ state }) {
  return html`<span class=${`badge state-${state}`}>${state}</span>`;
}

export function cents(value) {
  if (value === undefined || value === null || value === "") return "–";
  const n = Number(value);
  if (n === 0) return "0¢";
  return n >= 100 ? `$${(n / 100).toFixed(2)}` : `${n.toFixed(n < 1 ? 3 : 2)}¢`;
}

export function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

export function percent(x) {
  return `${Math.round(Number(x || 0) * 100)}%`;
}

// useLoad(fn, deps) → {data, error, loading, reload}: fn's answer; an ApiError kept as error.
export function useLoad(fn, deps) {
  const [state, setState] = useState({ data: undefined, error: null, loading: true });
  const load = useCallback(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    fn().then(
      (data) => live && setState({ data, error: null, loading: false }),
      (error) => live && setState({ data: undefined, error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, deps);
  useEffect(load, [load]);
  return { ...state, reload: load };
}

// A route this gateway does not have (yet): 501, or a 404 of the router itself, which carries no
// error code (a missing record's 404 says code "not_found").
export function unavailable(error) {
  return error instanceof ApiError && (error.status === 501 || (error.status === 404 && !error.problem.code));
}

export function Section({ title, children, id }) {
  return html`<section class="card-section" aria-labelledby=${id}>
    <h2 id=${id}>${title}</h2>
    ${children}
  </section>`;
}
