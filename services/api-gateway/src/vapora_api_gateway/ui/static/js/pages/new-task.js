// The form that submits a task (POST /api/v1/tasks); the API's problem is shown as it said it.

import { api } from "../api.js";
import { html, useEffect, useRef, useState } from "../html.js";
import { PRIORITIES, Problem } from "../ui.js";

export function NewTask({ ws, projects, types, onClose, onCreated }) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const first = useRef(null);
  useEffect(() => first.current && first.current.focus(), []);

  const submit = async (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    setBusy(true);
    try {
      const task = await api("POST", "/api/v1/tasks", {
        body: {
          workspace_id: ws,
          title: f.get("title"),
          description: f.get("description"),
          task_type: f.get("task_type"),
          priority: f.get("priority"),
          project_id: f.get("project_id"),
        },
      });
      onCreated(task);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return html`<form class="dialog" aria-label="New task" onSubmit=${submit}
      onKeyDown=${(e) => e.key === "Escape" && onClose()}>
    <h2>New task</h2>
    <label>Title <input ref=${first} name="title" required maxlength="500" /></label>
    <label>Description <textarea name="description" rows="4" maxlength="100000"></textarea></label>
    <div class="row">
      <label>Type <input name="task_type" list="task-types" placeholder="inferred" maxlength="64" pattern="[A-Za-z0-9_\\-]*" />
        <datalist id="task-types">${types.map((t) => html`<option value=${t} />`)}</datalist></label>
      <label>Priority <select name="priority" value="normal">
        ${PRIORITIES.map((p) => html`<option value=${p}>${p}</option>`)}</select></label>
      <label>Project <select name="project_id"><option value="">none</option>
        ${projects.map((p) => html`<option value=${p.id}>${p.name}</option>`)}</select></label>
    </div>
    <${Problem} error=${error} what="The task was not created" />
    <div class="actions">
      <button type="submit" class="primary" disabled=${busy}>Create</button>
      <button type="button" onClick=${onClose}>Cancel</button>
    </div>
  </form>`;
}
