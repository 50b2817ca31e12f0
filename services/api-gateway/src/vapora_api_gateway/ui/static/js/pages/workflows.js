// Workflow runs: the templates and runs of the workspace, and one run as a graph of its stages
// with live states; approve or reject a gate with a comment. Built on /api/v1/workflows and
// /api/v1/workflow-runs; while this gateway has no such routes, the page says so.

import { api } from "../api.js";
import { html, useEffect, useState } from "../html.js";
import { navigate } from "../routes.js";
import { watch } from "../stream.js";
import { Empty, Loading, Problem, Section, StateBadge, unavailable, useLoad, when } from "../ui.js";
import { StageGraph } from "./dag.js";

const NOT_YET = "Workflows are not available on this gateway yet.";

function stagesOf(run) {
  const template = run.template || {};
  return (template.stages || run.stages || []).map((s) => ({ id: s.id || s.stage_id, needs: s.needs || [], kind: s.kind || "task", approvers: s.approvers || [] }));
}

function statesOf(run) {
  return Object.fromEntries((run.stages || []).map((s) => [s.stage_id || s.id, s]));
}

function StartRun({ ctx, workflows, onStarted }) {
  const [error, setError] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    try {
      const run = await api("POST", "/api/v1/workflow-runs", {
        body: { workspace_id: ctx.ws, workflow: f.get("workflow"), title: f.get("title"), description: f.get("description") },
      });
      onStarted(run);
    } catch (err) {
      setError(err);
    }
  };
  return html`<form class="inline-form" onSubmit=${submit} aria-label="Start a workflow run">
    <label>Workflow <select name="workflow">${workflows.map((w) => html`<option value=${w.name}>${w.name}</option>`)}</select></label>
    <label>Title <input name="title" required maxlength="500" /></label>
    <label>Description <input name="description" maxlength="10000" /></label>
    <button type="submit" class="primary">Start</button>
    <${Problem} error=${error} />
  </form>`;
}

export function Workflows({ ctx }) {
  const workflows = useLoad(() => api("GET", "/api/v1/workflows", { query: { workspace_id: ctx.ws } }), [ctx.ws]);
  const runs = useLoad(() => api("GET", "/api/v1/workflow-runs", { query: { workspace_id: ctx.ws } }), [ctx.ws]);
  const canStart = ["member", "admin", "owner"].includes(ctx.role);
  if (workflows.loading || runs.loading) return html`<${Loading} what="workflows" />`;
  const err = workflows.error || runs.error;
  if (err) return html`<div><h1>Workflows</h1>${unavailable(err) ? html`<${Empty}>${NOT_YET}</${Empty}>` : html`<${Problem} error=${err} />`}</div>`;
  const items = workflows.data.items || [];
  return html`<div class="workflows-page">
    <h1>Workflows</h1>
    ${canStart && items.length > 0 && html`<${StartRun} ctx=${ctx} workflows=${items} onStarted=${(r) => navigate(`/workflow-runs/${r.id}`)} />`}
    <${Section} title="Runs" id="s-runs">
      ${(runs.data.items || []).length === 0 ? html`<${Empty}>No runs yet.</${Empty}>` : html`<div class="table-wrap"><table>
        <thead><tr><th scope="col">run</th><th scope="col">workflow</th><th scope="col">state</th><th scope="col">started</th></tr></thead>
        <tbody>${runs.data.items.map((r) => html`<tr><th scope="row"><a href=${`/workflow-runs/${r.id}`}>${r.title || r.id}</a></th>
          <td>${(r.template && r.template.name) || r.workflow || ""}</td><td><${StateBadge} state=${r.state} /></td><td>${when(r.created_at)}</td></tr>`)}</tbody>
      </table></div>`}
    </${Section}>
    <${Section} title="Templates" id="s-templates">
      <ul class="plain">${items.map((w) => html`<li><strong>${w.name}</strong> — ${w.description || ""} (${(w.stages || []).length} stages)</li>`)}</ul>
    </${Section}>
  </div>`;
}

// The API decides (Cedar: run.approve is for admins and owners; the coordinator: the caller's role
// must be one of the gate's approvers); the page only leaves out the controls it would refuse.
const DECIDERS = ["admin", "owner"];

export function mayDecide(stage, role) {
  return DECIDERS.includes(role) && (!stage.approvers.length || stage.approvers.includes(role));
}

function Gate({ run, stage, ctx, onDone }) {
  const [error, setError] = useState(null);
  const [comment, setComment] = useState("");
  const decide = async (verdict, e) => {
    e.preventDefault();
    try {
      await api("POST", `/api/v1/workflow-runs/${run.id}/${verdict}`, { body: { stage_id: stage.id, comment } });
      setError(null);
      setComment("");
      onDone();
    } catch (err) {
      setError(err);
    }
  };
  const who = stage.approvers.length ? stage.approvers : DECIDERS;
  return html`<form class="gate" aria-label=${`Gate ${stage.id}`} onSubmit=${(e) => decide("approve", e)}>
    <h3>Gate <code>${stage.id}</code> waits for approval</h3>
    ${mayDecide(stage, ctx.role)
      ? html`<label>Comment <textarea name="comment" rows="2" maxlength="5000" value=${comment}
            onInput=${(e) => setComment(e.target.value)}></textarea></label>
        <button type="submit" class="primary">Approve</button>
        <button type="button" onClick=${(e) => decide("reject", e)}>Reject</button>`
      : html`<p>Only ${who.join(" or ")} may decide; your role is ${ctx.role}.</p>`}
    <${Problem} error=${error} />
  </form>`;
}

function Decisions({ stage }) {
  return html`<ol class="decisions plain">${stage.decisions.map((d) => html`<li data-approved=${String(d.approved)}>
    <${StateBadge} state=${d.approved ? "approved" : "rejected"} /> by ${d.actor} (${d.role}), ${when(d.at)}${d.comment ? html`: <q>${d.comment}</q>` : ""}
  </li>`)}</ol>`;
}

export function WorkflowRun({ ctx, params }) {
  const [version, setVersion] = useState(0);
  const [picked, setPicked] = useState("");
  const { data: run, error, loading } = useLoad(() => api("GET", `/api/v1/workflow-runs/${params.id}`), [params.id, version]);
  useEffect(() => {
    if (!run) return undefined;
    const stream = watch(run.workspace_id, {
      onEvent: (type, e) => (e.run_id === params.id || (type === "task" && (run.stages || []).some((s) => s.task_id === e.task_id))) && setVersion((v) => v + 1),
      onReady: ({ resumed }) => resumed || setVersion((v) => v + 1),
    });
    return () => stream.stop();
  }, [run && run.workspace_id, params.id]);
  if (loading && !run) return html`<${Loading} what="the run" />`;
  if (error && !run) return html`<div><h1>Workflow run</h1>${unavailable(error) ? html`<${Empty}>${NOT_YET}</${Empty}>` : html`<${Problem} error=${error} />`}</div>`;
  const stages = stagesOf(run);
  const states = statesOf(run);
  const waiting = stages.filter((s) => s.kind === "gate" && (states[s.id] || {}).state === "waiting_approval");
  const chosen = states[picked];
  const decided = (run.stages || []).filter((s) => (s.decisions || []).length > 0);
  return html`<article class="run-page" data-run-state=${run.state}>
    <div class="toolbar"><h1>${run.title || run.id}</h1><${StateBadge} state=${run.state} /></div>
    <div class="graph-wrap"><${StageGraph} stages=${stages} states=${states} onPick=${setPicked} /></div>
    ${waiting.map((s) => html`<${Gate} key=${s.id} run=${run} stage=${s} ctx=${ctx} onDone=${() => setVersion((v) => v + 1)} />`)}
    ${decided.length > 0 && html`<${Section} title="Gate decisions" id="s-decisions">
      ${decided.map((s) => html`<div key=${s.id}><h3><code>${s.id}</code></h3><${Decisions} stage=${s} /></div>`)}
    </${Section}>`}
    ${chosen && html`<${Section} title=${`Stage ${picked}`} id="s-stage"><dl class="facts">
      ${Object.entries(chosen).filter(([, v]) => v !== "" && v !== null && typeof v !== "object").map(([k, v]) => html`<dt>${k.replace(/_/g, " ")}</dt><dd>${k === "task_id" ? html`<a href=${`/tasks/${v}`}>${v}</a>` : String(v)}</dd>`)}
    </dl>${(chosen.decisions || []).length > 0 && html`<${Decisions} stage=${chosen} />`}</${Section}>`}
  </article>`;
}
