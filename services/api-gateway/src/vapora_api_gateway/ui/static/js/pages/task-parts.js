// The parts of a task's page that come from other services: the assignment explanation
// (swarm-coordinator), the tool loop's steps (knowledge-graph), the diff (mcp-gateway's
// repositories). Each shows a clear empty state while its route answers 404 or 501.

import { api } from "../api.js";
import { html, useEffect, useRef } from "../html.js";
import { Empty, Loading, Problem, cents, unavailable, useLoad, when } from "../ui.js";

const SCORE = [
  ["total", "score"],
  ["load_score", "load score"],
  ["expertise", "expertise"],
  ["confidence", "confidence"],
  ["success_rate", "success rate"],
  ["load", "load"],
];

function number(v) {
  return typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : String(v);
}

export function Explanation({ task }) {
  const pending = task.state === "submitted";
  const { data, error, loading } = useLoad(
    () => (pending ? Promise.resolve(null) : api("GET", `/api/v1/tasks/${task.id}/assignment`)),
    [task.id, pending],
  );
  if (pending) return html`<${Empty}>Not assigned yet: the explanation comes with the assignment.</${Empty}>`;
  if (loading) return html`<${Loading} what="the explanation" />`;
  if (error) return unavailable(error) ? html`<${Empty}>Explanations are not available on this gateway.</${Empty}>` : html`<${Problem} error=${error} />`;
  const rows = [...data.candidates].sort((a, b) => b.score.total - a.score.total);
  return html`<div class="explanation">
    <p>Chosen: <strong>${data.agent_id}</strong>${data.attempt > 1 ? ` (attempt ${data.attempt})` : ""}
      ${data.score.learning_data ? " — on learning data." : " — no learning data for this type yet: load and declared skill decided."}
      ${data.reason && html` Reason: <span class="reason">${data.reason}</span>.`}</p>
    <div class="table-wrap"><table>
      <caption>Each candidate's score: 0.3 · load score + 0.5 · expertise + 0.2 · confidence</caption>
      <thead><tr><th scope="col">agent</th>${SCORE.map(([, label]) => html`<th scope="col">${label}</th>`)}</tr></thead>
      <tbody>${rows.map(
        (c) => html`<tr class=${c.agent_id === data.agent_id ? "chosen" : ""}>
          <th scope="row">${c.agent_id}</th>${SCORE.map(([key]) => html`<td>${number(c.score[key])}</td>`)}</tr>`,
      )}</tbody>
    </table></div>
  </div>`;
}

function Step({ s }) {
  if (s.kind === "model") {
    const calls = s.calls || [];
    return html`<li class="step step-model">
      <div class="step-head"><span class="n">${s.index}</span> model turn · ${s.provider}/${s.model}
        · ${s.input_tokens}/${s.output_tokens} tokens · ${cents(s.cost_cents)} · ${s.latency_ms} ms</div>
      ${s.text && html`<pre class="said">${s.text}</pre>`}
      ${calls.length > 0 && html`<ul class="calls">${calls.map((c) => html`<li><code>${c.tool}</code> <code class="args">${c.arguments_json}</code>${c.error && html` <span class="error">${c.error}</span>`}</li>`)}</ul>`}
    </li>`;
  }
  return html`<li class=${`step step-tool${s.is_error ? " failed" : ""}`}>
    <div class="step-head"><span class="n">${s.index}</span> tool <code>${s.tool}</code> · ${s.latency_ms} ms${s.truncated ? " · cut" : ""}</div>
    <details><summary>arguments and ${s.is_error ? "error" : "result"}</summary>
      <pre>${s.arguments_json}</pre><pre class=${s.is_error ? "error" : ""}>${s.is_error ? s.error || s.result : s.result}</pre>
    </details>
  </li>`;
}

export function Steps({ task, version }) {
  const { data, error, loading } = useLoad(async () => {
    const first = await api("GET", `/api/v1/tasks/${task.id}/steps`, { query: { page_size: 500 } });
    let page = first;
    const items = [...first.items];
    while (page.next_page_token) {
      page = await api("GET", `/api/v1/tasks/${task.id}/steps`, { query: { page_size: 500, page_token: page.next_page_token } });
      items.push(...page.items);
    }
    return { ...first, items, summary: page.summary };
  }, [task.id, version]);
  if (loading && !data) return html`<${Loading} what="the steps" />`;
  if (error) return unavailable(error) ? html`<${Empty}>The tool loop's steps are not available on this gateway yet.</${Empty}>` : html`<${Problem} error=${error} />`;
  const model = data.items.filter((s) => s.kind === "model");
  const tokens = model.reduce((n, s) => [n[0] + s.input_tokens, n[1] + s.output_tokens], [0, 0]);
  const sum = data.summary;
  return html`<div class="steps">
    <dl class="facts">
      <dt>tokens</dt><dd>${tokens[0]} in / ${tokens[1]} out</dd>
      <dt>cost</dt><dd>${cents(data.task_cost_cents)}</dd>
      <dt>ended</dt><dd>${sum ? `${sum.stop_reason}${sum.verified ? ", verified" : ", unverified"}` : "still running"}</dd>
      ${sum && sum.error && html`<dt>error</dt><dd class="error">${sum.error}</dd>`}
    </dl>
    ${data.items.length ? html`<ol class="step-list">${data.items.map((s) => html`<${Step} key=${s.index} s=${s} />`)}</ol>` : html`<${Empty}>No steps yet.</${Empty}>`}
  </div>`;
}

let diffLoader = null;
function loadDiff2Html() {
  diffLoader ||= new Promise((resolve, reject) => {
    for (const href of ["/ui/vendor/diff2html.min.css", "/ui/vendor/highlight-github.min.css"]) {
      const link = Object.assign(document.createElement("link"), { rel: "stylesheet", href });
      document.head.append(link);
    }
    const script = Object.assign(document.createElement("script"), { src: "/ui/vendor/diff2html-ui-slim.min.js" });
    script.onload = () => resolve(window.Diff2HtmlUI);
    script.onerror = () => reject(new Error("the diff viewer did not load"));
    document.head.append(script);
  });
  return diffLoader;
}

export function Diff({ task, version }) {
  const target = useRef(null);
  const { data, error, loading } = useLoad(() => api("GET", `/api/v1/tasks/${task.id}/diff`, { accept: "text/x-diff" }), [task.id, version]);
  useEffect(() => {
    if (!data || !target.current) return;
    loadDiff2Html().then((Diff2HtmlUI) => {
      const ui = new Diff2HtmlUI(target.current, String(data), {
        drawFileList: true,
        matching: "lines",
        outputFormat: "line-by-line",
        highlight: true,
        fileListToggle: false,
      });
      ui.draw();
      ui.highlightCode();
    });
  }, [data]);
  if (loading && !data) return html`<${Loading} what="the diff" />`;
  if (error) return unavailable(error) || error.status === 404
    ? html`<${Empty}>${unavailable(error) ? "Diffs are not available on this gateway yet." : error.message}</${Empty}>`
    : html`<${Problem} error=${error} />`;
  if (!String(data).trim()) return html`<${Empty}>No changes.</${Empty}>`;
  return html`<div class="diff" ref=${target}></div>`;
}

export function History({ task }) {
  return html`<ol class="history">${task.history.map(
    (h) => html`<li><span class=${`badge state-${h.state}`}>${h.state}</span> <time datetime=${h.at}>${when(h.at)}</time>
      ${h.agent_id && html` · ${h.agent_id}`}${h.detail && html` · ${h.detail}`}</li>`,
  )}</ol>`;
}
