// Agents the workspace may use: health, load, capabilities; one agent's learning profile per
// task type with its learning curve (success rate and quality per day) as a chart.

import { api } from "../api.js";
import { html, useEffect, useRef } from "../html.js";
import { Empty, Loading, Problem, Section, percent, useLoad, when } from "../ui.js";

let uplot = null;
function loadUplot() {
  if (!uplot) {
    const link = Object.assign(document.createElement("link"), { rel: "stylesheet", href: "/ui/vendor/uPlot.min.css" });
    document.head.append(link);
    uplot = import("uplot").then((m) => m.default);
  }
  return uplot;
}

function Curve({ agentId, ws, taskType }) {
  const box = useRef(null);
  const { data, error, loading } = useLoad(
    () => api("GET", `/api/v1/agents/${agentId}/profiles/${taskType}/curve`, { query: { workspace_id: ws, days: 30 } }),
    [agentId, taskType, ws],
  );
  useEffect(() => {
    if (!data || !data.points.length || !box.current) return undefined;
    let chart = null;
    loadUplot().then((UPlot) => {
      const xs = data.points.map((p) => Date.parse(`${p.day}T00:00:00Z`) / 1000);
      chart = new UPlot(
        {
          width: Math.min(560, box.current.clientWidth || 560),
          height: 180,
          scales: { x: { time: true, range: [Date.now() / 1000 - data.days * 86400, Date.now() / 1000] }, y: { range: [0, 1] } },
          series: [
            {},
            { label: "success rate", stroke: "#2f5bd3", width: 2, points: { size: 7 } },
            { label: "quality", stroke: "#1f9d55", width: 2, dash: [6, 4], points: { size: 7 } },
          ],
          axes: [{}, { values: (u, ticks) => ticks.map((t) => `${Math.round(t * 100)}%`) }],
        },
        [xs, data.points.map((p) => p.success_rate), data.points.map((p) => p.mean_quality)],
        box.current,
      );
    });
    return () => chart && chart.destroy();
  }, [data]);
  if (loading) return html`<${Loading} what="the curve" />`;
  if (error) return html`<${Problem} error=${error} />`;
  if (!data.points.length) return html`<${Empty}>No executions of ${taskType} in the last ${data.days} days.</${Empty}>`;
  const runs = data.points.reduce((n, p) => n + p.executions, 0);
  return html`<figure class="curve"><div ref=${box} class="chart" aria-hidden="true"></div>
    <figcaption>${taskType}: ${runs} executions over ${data.points.length} days; last day ${percent(data.points[data.points.length - 1].success_rate)} success</figcaption></figure>`;
}

function Profiles({ agentId, ws }) {
  const { data, error, loading } = useLoad(() => api("GET", `/api/v1/agents/${agentId}/profiles`, { query: { workspace_id: ws } }), [agentId, ws]);
  if (loading) return html`<${Loading} what="the learning profiles" />`;
  if (error) return html`<${Problem} error=${error} />`;
  if (!data.items.length) return html`<${Empty}>Nothing learned about ${agentId} yet.</${Empty}>`;
  return html`<div class="profiles">
    <div class="table-wrap"><table>
      <thead><tr><th scope="col">task type</th><th scope="col">expertise</th><th scope="col">confidence</th><th scope="col">executions</th><th scope="col">success</th><th scope="col">quality</th></tr></thead>
      <tbody>${data.items.map((p) => html`<tr><th scope="row">${p.task_type}</th><td>${p.expertise.toFixed(3)}</td><td>${p.confidence.toFixed(2)}</td>
        <td>${p.executions}</td><td>${percent(p.success_rate)}</td><td>${p.mean_quality.toFixed(2)}</td></tr>`)}</tbody>
    </table></div>
    ${data.items.map((p) => html`<${Curve} key=${p.task_type} agentId=${agentId} ws=${ws} taskType=${p.task_type} />`)}
  </div>`;
}

function Load({ agent }) {
  const share = agent.max_concurrency ? agent.current_load / agent.max_concurrency : 0;
  return html`<span class="meter" title=${`${agent.current_load} of ${agent.max_concurrency}`}>
    <span class="bar"><span class="fill" style=${{ width: `${Math.min(100, share * 100)}%` }}></span></span>
    ${agent.current_load}/${agent.max_concurrency}</span>`;
}

export function Agents({ ctx, params }) {
  const { data, error, loading } = useLoad(() => api("GET", "/api/v1/agents", { query: { workspace_id: ctx.ws } }), [ctx.ws]);
  if (loading) return html`<${Loading} what="agents" />`;
  if (error) return html`<div><h1>Agents</h1><${Problem} error=${error} /></div>`;
  return html`<div class="agents-page">
    <h1>Agents</h1>
    <div class="table-wrap"><table>
      <thead><tr><th scope="col">agent</th><th scope="col">role</th><th scope="col">health</th><th scope="col">load</th><th scope="col">capabilities</th><th scope="col">last heartbeat</th></tr></thead>
      <tbody>${data.items.map((a) => html`<tr class=${params.id === a.id ? "chosen" : ""}>
        <th scope="row"><a href=${`/agents/${a.id}`}>${a.id}</a>${a.workspace_id ? " (private)" : ""}</th><td>${a.role}</td>
        <td><span class=${`badge health-${a.status}`}>${a.status}</span></td><td><${Load} agent=${a} /></td>
        <td>${a.capabilities.map((c) => html`<span class="chip" title=${`declared proficiency ${c.proficiency}`}>${c.task_type}</span>`)}</td>
        <td>${when(a.last_heartbeat)}</td></tr>`)}</tbody>
    </table></div>
    ${params.id
      ? html`<${Section} title=${`What the swarm learned about ${params.id}`} id="s-learned"><${Profiles} agentId=${params.id} ws=${ctx.ws} /></${Section}>`
      : html`<${Empty}>Pick an agent to see its learning curves.</${Empty}>`}
  </div>`;
}
