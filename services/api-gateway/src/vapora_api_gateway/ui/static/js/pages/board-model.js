// The board's data, without the DOM: which card goes in which column, and how a live event
// changes a card (never backwards: a task's state only moves on, and a final state stays).

import { RANK, STATES, TERMINAL } from "../ui.js";

export const COLUMN_PAGE = 50;
export const FILTERS = ["project_id", "task_type", "priority", "agent_id"];
const EVENT_FIELDS = ["state", "agent_id", "task_type", "provider", "model", "execution_id", "result", "step", "tool", "cost_cents"];

export function matches(task, filters) {
  return FILTERS.every((f) => !filters[f] || task[f] === filters[f]);
}

// columns: {state: {ids: [task ids, newest first], cursor}}; tasks: {id: task}.
export function emptyBoard() {
  return { tasks: {}, columns: Object.fromEntries(STATES.map((s) => [s, { ids: [], cursor: null }])) };
}

function newestFirst(tasks) {
  return (a, b) => (tasks[b].created_at || "").localeCompare(tasks[a].created_at || "") || (b < a ? -1 : 1);
}

// Where ``task`` shows now: its column, sorted; not past the last loaded card of a column that
// has more pages (an older task shows when that page is loaded).
function place(board, task) {
  const tasks = { ...board.tasks, [task.id]: task };
  const columns = {};
  for (const state of STATES) {
    const col = board.columns[state];
    let ids = col.ids.filter((id) => id !== task.id);
    if (state === task.state) {
      const oldest = col.cursor && ids.length ? tasks[ids[ids.length - 1]].created_at : "";
      if (!oldest || (task.created_at || "") >= oldest) ids = [...ids, task.id].sort(newestFirst(tasks));
    }
    columns[state] = ids === col.ids ? col : { ...col, ids };
  }
  return { tasks, columns };
}

export function withPage(board, state, page) {
  const tasks = { ...board.tasks };
  for (const t of page.items) tasks[t.id] = t;
  const known = new Set(board.columns[state].ids);
  const ids = [...board.columns[state].ids, ...page.items.map((t) => t.id).filter((id) => !known.has(id))];
  return { tasks, columns: { ...board.columns, [state]: { ids, cursor: page.next_cursor || null } } };
}

// A task as the API answered it (a create, a move, a fetch): it replaces what the board had,
// unless the board already saw it further along.
export function withTask(board, task, filters) {
  const seen = board.tasks[task.id];
  if (seen && RANK[seen.state] > RANK[task.state]) return board;
  if (!matches(task, filters)) return seen ? remove(board, task.id) : board;
  return place(board, task);
}

function remove(board, id) {
  const tasks = { ...board.tasks };
  delete tasks[id];
  const columns = {};
  for (const s of STATES) columns[s] = { ...board.columns[s], ids: board.columns[s].ids.filter((x) => x !== id) };
  return { tasks, columns };
}

// An event of the workspace's stream. Returns [board, needsFetch]: an event of a task the
// board does not hold asks for the task itself (title, priority, project are not in events).
export function withEvent(board, event, filters) {
  const task = board.tasks[event.task_id];
  if (!task) return [board, true];
  if (TERMINAL.includes(task.state) || RANK[event.state] < RANK[task.state]) return [board, false];
  if (event.state === task.state && event.step && event.step < (task.step || 0)) return [board, false];
  const next = { ...task };
  for (const f of EVENT_FIELDS) if (event[f] !== undefined && event[f] !== "" && event[f] !== 0) next[f] = event[f];
  next.updated_at = event.at || task.updated_at;
  return [withTask(board, next, filters), false];
}

// Where a card may be dropped: Cancelled while it runs (member and up), any manual state for
// admins and owners (the API's POST /tasks/{id}/status); never from a final state.
export function targets(task, role) {
  if (TERMINAL.includes(task.state) || !["member", "admin", "owner"].includes(role)) return [];
  const manual = ["admin", "owner"].includes(role) ? ["assigned", "running", "done", "failed"] : [];
  return [...manual.filter((s) => s !== task.state && RANK[s] >= RANK[task.state]), "cancelled"];
}
