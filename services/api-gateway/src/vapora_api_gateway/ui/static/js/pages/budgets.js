// LLM budgets per role and window as bars (spent, reserved, limit), from llm-router.

import { api } from "../api.js";
import { html } from "../html.js";
import { Empty, Loading, Problem, Section, cents, percent, unavailable, useLoad, when } from "../ui.js";

function Window({ w }) {
  const spent = w.limit_cents ? Math.min(100, (w.spent_cents / w.limit_cents) * 100) : 0;
  const reserved = w.limit_cents ? Math.min(100 - spent, (w.reserved_cents / w.limit_cents) * 100) : 0;
  return html`<div class="budget-window">
    <div class="label"><strong>${w.window}</strong> ${cents(w.spent_cents)} spent${w.reserved_cents ? `, ${cents(w.reserved_cents)} reserved` : ""} of ${cents(w.limit_cents)}
      (${percent(w.utilization)})${w.resets_at ? ` · resets ${when(w.resets_at)}` : ""}</div>
    <div class="bar big" role="meter" aria-valuemin="0" aria-valuemax="100" aria-valuenow=${Math.round(w.utilization * 100)}
        aria-label=${`${w.window} utilization`}>
      <span class=${`fill${w.utilization >= 1 ? " over" : w.utilization >= 0.8 ? " near" : ""}`} style=${{ width: `${spent}%` }}></span>
      <span class="fill reserved" style=${{ width: `${reserved}%` }}></span>
    </div>
  </div>`;
}

function Spend({ items }) {
  if (!items || !items.length) return html`<${Empty}>No spend recorded yet.</${Empty}>`;
  const top = Math.max(...items.map((s) => s.spent_cents), 1e-9);
  return html`<div class="table-wrap"><table class="spend">
    <thead><tr><th scope="col">provider</th><th scope="col">model</th><th scope="col">calls</th><th scope="col">spent</th><th scope="col"><span class="sr-only">share</span></th></tr></thead>
    <tbody>${items.map((s) => html`<tr><th scope="row">${s.provider}</th><td>${s.model}</td><td>${s.calls}</td><td>${cents(s.spent_cents)}</td>
      <td class="bar-cell"><span class="bar"><span class="fill" style=${{ width: `${(s.spent_cents / top) * 100}%` }}></span></span></td></tr>`)}</tbody>
  </table></div>`;
}

export function Budgets({ ctx }) {
  const { data, error, loading } = useLoad(() => api("GET", "/api/v1/budgets", { query: { workspace_id: ctx.ws } }), [ctx.ws]);
  if (loading) return html`<${Loading} what="budgets" />`;
  if (error) return html`<div><h1>Budgets</h1><${Problem} error=${error} /></div>`;
  return html`<div class="budgets-page">
    <h1>Budgets</h1>
    <${Section} title="Utilization per role" id="s-util">
      ${data.items.length === 0 ? html`<${Empty}>No budgets are configured.</${Empty}>` : data.items.map((b) => html`<div class="budget-role" data-role=${b.role}>
        <h3>${b.role} <span class=${`badge budget-${b.state}`}>${b.state.replace("_", " ")}</span></h3>
        <div class="windows">${b.windows.map((w) => html`<${Window} w=${w} />`)}</div>
      </div>`)}
    </${Section}>
    <${Section} title="Spend per provider and model" id="s-spend"><${Spend} items=${data.spend} /></${Section}>
  </div>`;
}
