// LLM budgets per role and window as bars (spent, reserved, limit), and what the workspace's calls
// cost per provider and model over the last 30 days, both from llm-router.

import { api } from "../api.js";
import { html } from "../html.js";
import { Empty, Loading, Problem, Section, cents, percent, unavailable, useLoad, when } from "../ui.js";

function Window({ w }) {
  const spent = w.limit_cents ? Math.min(100, (w.spent_cents / w.limit_cents) * 100) : 0;
  const reserved = w.limit_cents ? Math.min(100 - spent, (w.reserved_cents / w.limit_cents) * 100) : 0;
  return html`<div class="budget-window">
    <div class="label"><strong>${w.window}</strong> ${cents(w.spent_cents)} spent${w.reserved_cents ? `, ${cents(w.reserved_cents)} reserved` : ""} of ${cents(w.limit_cents)}${" "}(${percent(w.utilization)})${w.resets_at ? ` · resets ${when(w.resets_at)}` : ""}</div>
    <div class="bar big" role="meter" aria-valuemin="0" aria-valuemax="100" aria-valuenow=${Math.round(w.utilization * 100)}
        aria-label=${`${w.window} utilization`}>
      <span class=${`fill${w.utilization >= 1 ? " over" : w.utilization >= 0.8 ? " near" : ""}`} style=${{ width: `${spent}%` }}></span>
      <span class="fill reserved" style=${{ width: `${reserved}%` }}></span>
    </div>
  </div>`;
}

function Spend({ spend }) {
  const { data, error, loading } = spend;
  if (loading) return html`<${Loading} what="spend" />`;
  if (error) return unavailable(error) ? html`<${Empty}>Spend is not available on this gateway yet.</${Empty}>` : html`<${Problem} error=${error} />`;
  const items = data.items;
  if (!items.length) return html`<${Empty}>No LLM calls in the last ${DAYS} days.</${Empty}>`;
  const top = Math.max(...items.map((s) => s.cost_cents), 1e-9);
  return html`<p class="muted">Since ${when(data.since)}.</p><div class="table-wrap"><table class="spend">
    <thead><tr><th scope="col">provider</th><th scope="col">model</th><th scope="col">calls</th><th scope="col">tokens in / out</th>
      <th scope="col">spent</th><th scope="col"><span class="sr-only">share</span></th></tr></thead>
    <tbody>${items.map((s) => html`<tr data-provider=${s.provider} data-model=${s.model}><th scope="row">${s.provider}</th><td>${s.model}</td>
      <td class="calls">${s.calls}</td><td>${s.input_tokens} / ${s.output_tokens}</td><td class="spent">${cents(s.cost_cents)}</td>
      <td class="bar-cell"><span class="bar"><span class="fill" style=${{ width: `${(s.cost_cents / top) * 100}%` }}></span></span></td></tr>`)}</tbody>
  </table></div>`;
}

const DAYS = 30;

export function Budgets({ ctx }) {
  const { data, error, loading } = useLoad(() => api("GET", "/api/v1/budgets", { query: { workspace_id: ctx.ws } }), [ctx.ws]);
  const spend = useLoad(() => api("GET", "/api/v1/budgets/spend", { query: { workspace_id: ctx.ws, days: DAYS } }), [ctx.ws]);
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
    <${Section} title="Spend per provider and model" id="s-spend"><${Spend} spend=${spend} /></${Section}>
  </div>`;
}
