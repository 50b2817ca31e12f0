// The signed-in frame: navigation, the workspace switcher, sign out; then the page of the path.

import { api } from "./api.js";
import { html, useState } from "./html.js";
import { Problem } from "./ui.js";

const NAV = [
  ["/board", "Board"],
  ["/workflows", "Workflows"],
  ["/agents", "Agents"],
  ["/budgets", "Budgets"],
];

function NewWorkspace({ onCreated, onClose }) {
  const [error, setError] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    try {
      onCreated(await api("POST", "/api/v1/workspaces", { body: { name: new FormData(e.target).get("name") } }));
    } catch (err) {
      setError(err);
    }
  };
  return html`<form class="inline-form" onSubmit=${submit} aria-label="New workspace">
    <input name="name" required maxlength="200" placeholder="Workspace name" aria-label="Workspace name" />
    <button type="submit">Create</button><button type="button" onClick=${onClose}>Cancel</button>
    <${Problem} error=${error} />
  </form>`;
}

export function Shell({ ctx, path, children }) {
  const [adding, setAdding] = useState(false);
  const admin = ["admin", "owner"].includes(ctx.role);
  const nav = admin ? [...NAV, ["/audit", "Audit log"]] : NAV;
  return html`<div class="shell">
    <a class="skip" href="#main">Skip to content</a>
    <header class="top">
      <a class="brand" href="/board">Vapora</a>
      <nav aria-label="Main">
        ${nav.map(([href, label]) => html`<a href=${href} aria-current=${path.startsWith(href) ? "page" : undefined}>${label}</a>`)}
      </nav>
      <div class="who">
        <label class="ws-switch">Workspace
          <select value=${ctx.ws} onChange=${(e) => ctx.switchTo(e.target.value)} aria-label="Workspace">
            ${ctx.workspaces.map((w) => html`<option value=${w.id}>${w.name} (${w.role})</option>`)}
          </select>
        </label>
        <button class="link" onClick=${() => setAdding(!adding)} aria-expanded=${adding}>New workspace</button>
        <span class="user" title=${ctx.user.email}>${ctx.user.display_name || ctx.user.email}</span>
        <button onClick=${ctx.signOut}>Sign out</button>
      </div>
    </header>
    ${adding && html`<${NewWorkspace} onClose=${() => setAdding(false)} onCreated=${(w) => {
      setAdding(false);
      ctx.added(w);
    }} />`}
    <main id="main" tabindex="-1">${children}</main>
  </div>`;
}
