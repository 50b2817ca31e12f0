// One task: what it is, why this agent, what the agent did (steps, diff, verification), what it
// cost; cancel it, or say whether its outcome was right. Live through the workspace's stream.

import { api } from "../api.js";
import { html, useEffect, useState } from "../html.js";
import { watch } from "../stream.js";
import { Loading, Problem, Section, StateBadge, TERMINAL, cents, useLoad, when } from "../ui.js";
import { Diff, Explanation, History, Steps } from "./task-parts.js";

function Feedback({ task, onDone }) {
  const [error, setError] = useState(null);
  const [sent, setSent] = useState("");
  const send = async (success) => {
    const comment = document.getElementById("feedback-comment").value;
    try {
      await api("POST", `/api/v1/tasks/${task.id}/feedback`, { body: { success, quality: success ? 1 : 0, comment } });
      setSent(success ? "Marked as a success." : "Marked as a failure.");
      setError(null);
      onDone();
    } catch (err) {
      setError(err);
    }
  };
  return html`<div class="feedback">
    <label>Comment <input id="feedback-comment" maxlength="5000" placeholder="optional" /></label>
    <button onClick=${() => send(true)}>Outcome is right</button>
    <button onClick=${() => send(false)}>Outcome is wrong</button>
    ${sent && html`<span role="status">${sent}</span>`}
    <${Problem} error=${error} />
  </div>`;
}

function Verification({ task }) {
  const v = task.verification;
  if (!v) return html`<p class="empty">No verification recorded for this task.</p>`;
  return html`<dl class="facts">${Object.entries(v).map(([k, val]) => html`<dt>${k.replace(/_/g, " ")}</dt><dd>${typeof val === "object" ? JSON.stringify(val) : String(val)}</dd>`)}</dl>`;
}

export function TaskDetail({ ctx, params }) {
  const [version, setVersion] = useState(0);
  const [error, setError] = useState(null);
  const { data: task, error: loadError, loading } = useLoad(() => api("GET", `/api/v1/tasks/${params.id}`), [params.id, version]);
  const canWrite = task && ["member", "admin", "owner"].includes((ctx.workspaces.find((w) => w.id === task.workspace_id) || {}).role);

  useEffect(() => {
    if (!task) return undefined;
    const stream = watch(task.workspace_id, {
      onEvent: (type, e) => type === "task" && e.task_id === params.id && setVersion((v) => v + 1),
      onReady: ({ resumed }) => resumed || setVersion((v) => v + 1),
    });
    return () => stream.stop();
  }, [task && task.workspace_id, params.id]);

  if (loading && !task) return html`<${Loading} what="the task" />`;
  if (loadError && !task) return html`<div class="task-page"><h1>Task ${params.id}</h1><${Problem} error=${loadError} what="This task cannot be shown" /><a href="/board">Back to the board</a></div>`;

  const cancel = async () => {
    try {
      await api("POST", `/api/v1/tasks/${task.id}/cancel`, { body: { reason: "cancelled from its page" } });
      setVersion((v) => v + 1);
    } catch (err) {
      setError(err);
    }
  };
  const finished = TERMINAL.includes(task.state);
  return html`<article class="task-page" data-task-id=${task.id} data-state=${task.state}>
    <div class="toolbar">
      <h1>${task.title}</h1>
      <${StateBadge} state=${task.state} />
      ${canWrite && !finished && html`<button onClick=${cancel}>Cancel task</button>`}
    </div>
    <${Problem} error=${error} />
    <dl class="facts">
      <dt>type</dt><dd>${task.task_type || "inferred"}</dd>
      <dt>priority</dt><dd>${task.priority}</dd>
      <dt>agent</dt><dd>${task.agent_id || "–"}</dd>
      <dt>model</dt><dd>${task.provider ? `${task.provider}/${task.model}` : "–"}</dd>
      <dt>cost</dt><dd class="cost">${cents(task.cost_cents)}</dd>
      <dt>tokens</dt><dd class="tokens">${task.input_tokens} in / ${task.output_tokens} out</dd>
      <dt>created</dt><dd>${when(task.created_at)}</dd>
      <dt>updated</dt><dd>${when(task.updated_at)}</dd>
      ${task.state === "running" && task.step ? html`<dt>now</dt><dd>step ${task.step}${task.tool ? `: ${task.tool}` : ""}</dd>` : null}
    </dl>
    ${task.description && html`<${Section} title="Description" id="s-desc"><p class="description">${task.description}</p></${Section}>`}
    <${Section} title="Why this agent" id="s-why"><${Explanation} task=${task} /></${Section}>
    <${Section} title="Steps" id="s-steps"><${Steps} task=${task} version=${version} /></${Section}>
    <${Section} title="Changes" id="s-diff"><${Diff} task=${task} version=${finished ? version : -1} /></${Section}>
    <${Section} title="Verification" id="s-verify"><${Verification} task=${task} /></${Section}>
    ${task.result && html`<${Section} title="Result" id="s-result"><pre class="result">${task.result}</pre></${Section}>`}
    ${canWrite && task.execution_id && finished && html`<${Section} title="Was it right?" id="s-feedback"><${Feedback} task=${task} onDone=${() => {}} /></${Section}>`}
    <${Section} title="History" id="s-history"><${History} task=${task} /></${Section}>
  </article>`;
}
