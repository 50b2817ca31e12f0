// The Kanban board: a column per state, filters, live through the workspace's event stream,
// a task created from here, a card dragged (or moved with its menu, from the keyboard) to
// Cancelled or, for admins and owners, to a manual state.

import { api, url } from "../api.js";
import { html, useEffect, useMemo, useRef, useState } from "../html.js";
import { navigate, queryParams } from "../routes.js";
import { watch } from "../stream.js";
import { PRIORITIES, Problem, STATES, cents } from "../ui.js";
import { COLUMN_PAGE, FILTERS, emptyBoard, targets, withEvent, withPage, withTask } from "./board-model.js";
import { NewTask } from "./new-task.js";

const QUERY = { project_id: "project", task_type: "type", priority: "priority", agent_id: "agent" };

function filtersOf(search) {
  const q = queryParams(search);
  return Object.fromEntries(FILTERS.map((f) => [f, q[QUERY[f]] || ""]));
}

async function column(ws, state, filters, cursor) {
  return api("GET", "/api/v1/tasks", { query: { workspace_id: ws, state, limit: COLUMN_PAGE, cursor, ...filters } });
}

function Card({ task, role, onMove, onDragStart }) {
  const moves = targets(task, role);
  const progress = task.state === "running" && task.step ? `step ${task.step}${task.tool ? `: ${task.tool}` : ""}` : "";
  return html`<li class="task-card" data-task-id=${task.id} data-state=${task.state}
      draggable=${moves.length > 0} onDragStart=${(e) => onDragStart(e, task)}>
    <a class="title" href=${`/tasks/${task.id}`}>${task.title}</a>
    <div class="meta">
      <span class=${`badge priority-${task.priority}`} title="priority">${task.priority}</span>
      <span class="type" title="type">${task.task_type || "untyped"}</span>
      <span class="agent" title="agent">${task.agent_id || "unassigned"}</span>
      <span class="cost" title="cost">${cents(task.cost_cents)}</span>
    </div>
    ${progress && html`<div class="progress">${progress}</div>`}
    ${moves.length > 0 &&
    html`<select class="move" aria-label=${`Move “${task.title}” to`} onChange=${(e) => e.target.value && onMove(task, e.target.value)}>
      <option value="">Move to…</option>
      ${moves.map((s) => html`<option value=${s}>${s}</option>`)}
    </select>`}
  </li>`;
}

function Filters({ filters, projects, agents, types }) {
  const set = (name, value) => {
    const q = { ...queryParams(location.search), [QUERY[name]]: value };
    navigate(url("/board", q), { replace: true });
  };
  const select = (name, label, options) => html`<label>${label}
    <select name=${name} value=${filters[name]} onChange=${(e) => set(name, e.target.value)}>
      <option value="">all</option>
      ${options.map(([v, text]) => html`<option value=${v}>${text}</option>`)}
    </select></label>`;
  return html`<form class="filters" aria-label="Filter the board" onSubmit=${(e) => e.preventDefault()}>
    ${select("project_id", "Project", projects.map((p) => [p.id, p.name]))}
    ${select("task_type", "Type", types.map((t) => [t, t]))}
    ${select("priority", "Priority", PRIORITIES.map((p) => [p, p]))}
    ${select("agent_id", "Agent", agents.map((a) => [a.id, a.id]))}
  </form>`;
}

export function Board({ ctx, search }) {
  const { ws, role } = ctx;
  const filters = useMemo(() => filtersOf(search), [search]);
  const [board, setBoard] = useState(emptyBoard);
  const [ready, setReady] = useState(false);
  const [live, setLive] = useState("connecting");
  const [error, setError] = useState(null);
  const [creating, setCreating] = useState(false);
  const [projects, setProjects] = useState([]);
  const [agents, setAgents] = useState([]);
  const dragged = useRef(null);
  const loading = useRef(null); // events that came while the columns were being read
  const boardRef = useRef(board);
  boardRef.current = board;
  const canCreate = ["member", "admin", "owner"].includes(role);

  useEffect(() => {
    api("GET", `/api/v1/workspaces/${ws}/projects`).then((r) => setProjects(r.items), setError);
    api("GET", "/api/v1/agents", { query: { workspace_id: ws } }).then(
      (r) => setAgents(r.items),
      () => setAgents([]), // the registry down: the board still works, without the agent list
    );
  }, [ws]);
  const types = useMemo(
    () => [...new Set(agents.flatMap((a) => a.capabilities.map((c) => c.task_type)))].sort(),
    [agents],
  );

  const fetchTask = (id) =>
    api("GET", `/api/v1/tasks/${id}`).then(
      (t) => t.workspace_id === ws && setBoard((b) => withTask(b, t, filters)),
      () => {},
    );

  const onEvent = (type, event) => {
    if (type !== "task") return;
    if (loading.current) {
      loading.current.push(event);
      return;
    }
    const [next, fetch] = withEvent(boardRef.current, event, filters);
    if (fetch) fetchTask(event.task_id);
    else setBoard(next);
  };

  const loadColumns = async () => {
    loading.current = [];
    try {
      const pages = await Promise.all(STATES.map((s) => column(ws, s, filters, "")));
      let next = emptyBoard();
      STATES.forEach((s, i) => (next = withPage(next, s, pages[i])));
      const missing = [];
      for (const event of loading.current) {
        const [b, fetch] = withEvent(next, event, filters);
        next = b;
        if (fetch) missing.push(event.task_id);
      }
      setBoard(next);
      setError(null);
      missing.forEach(fetchTask);
    } catch (err) {
      setError(err);
    } finally {
      loading.current = null;
      setReady(true);
    }
  };

  useEffect(() => {
    setReady(false);
    setBoard(emptyBoard());
    const stream = watch(ws, {
      onEvent,
      onReady: ({ resumed }) => resumed || loadColumns(), // a resume replays what was missed
      onState: (state, err) => {
        setLive(state);
        if (state === "closed") setError(err);
      },
    });
    return () => stream.stop();
  }, [ws, search]);

  const more = async (state) => {
    try {
      const page = await column(ws, state, filters, board.columns[state].cursor);
      setBoard((b) => withPage(b, state, page));
    } catch (err) {
      setError(err);
    }
  };

  const move = async (task, state) => {
    try {
      const out =
        state === "cancelled"
          ? await api("POST", `/api/v1/tasks/${task.id}/cancel`, { body: { reason: "cancelled from the board" } })
          : await api("POST", `/api/v1/tasks/${task.id}/status`, { body: { state, detail: "set from the board" } });
      setBoard((b) => withTask(b, out, filters));
      setError(null);
    } catch (err) {
      setError(err);
    }
  };

  const dropTargets = (state) => ({
    onDragOver: (e) => {
      const t = dragged.current;
      if (t && targets(t, role).includes(state)) {
        e.preventDefault();
        e.dataTransfer.dropEffect = "move";
      }
    },
    onDrop: (e) => {
      e.preventDefault();
      const t = dragged.current;
      dragged.current = null;
      if (t && targets(t, role).includes(state)) move(t, state);
    },
  });
  const onDragStart = (e, task) => {
    dragged.current = task;
    e.dataTransfer.setData("text/plain", task.id);
    e.dataTransfer.effectAllowed = "move";
  };

  return html`<div class="board-page" data-board=${ready ? "ready" : "loading"}>
    <div class="toolbar">
      <h1>Board</h1>
      <span class=${`live live-${live}`} role="status">${live === "live" ? "live" : live}</span>
      ${canCreate && html`<button class="primary" onClick=${() => setCreating(true)}>New task</button>`}
    </div>
    <${Filters} filters=${filters} projects=${projects} agents=${agents} types=${types} />
    <${Problem} error=${error} />
    ${creating &&
    html`<${NewTask} ws=${ws} projects=${projects} types=${types}
      onClose=${() => setCreating(false)}
      onCreated=${(t) => {
        setCreating(false);
        setBoard((b) => withTask(b, t, filters));
      }} />`}
    <div class="columns">
      ${STATES.map((state) => {
        const col = board.columns[state];
        return html`<section class="column" data-column=${state} aria-label=${state} ...${dropTargets(state)}>
          <h2>${state} <span class="count">${col.ids.length}${col.cursor ? "+" : ""}</span></h2>
          <ul>
            ${col.ids.map((id) => html`<${Card} key=${id} task=${board.tasks[id]} role=${role} onMove=${move} onDragStart=${onDragStart} />`)}
          </ul>
          ${col.cursor && html`<button class="more" onClick=${() => more(state)}>Load more</button>`}
        </section>`;
      })}
    </div>
  </div>`;
}
