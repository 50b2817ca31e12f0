// The workspace's audit log (admins and owners; the API refuses anyone else), newest first.

import { api } from "../api.js";
import { html, useEffect, useState } from "../html.js";
import { Empty, Loading, Problem, when } from "../ui.js";

export function Audit({ ctx }) {
  const [rows, setRows] = useState([]);
  const [cursor, setCursor] = useState(null);
  const [error, setError] = useState(null);
  const [loading, setLoading] = useState(true);
  const load = async (from) => {
    setLoading(true);
    try {
      const page = await api("GET", `/api/v1/workspaces/${ctx.ws}/audit`, { query: { limit: 100, cursor: from } });
      setRows((r) => (from ? [...r, ...page.items] : page.items));
      setCursor(page.next_cursor);
      setError(null);
    } catch (err) {
      setError(err);
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => {
    load("");
  }, [ctx.ws]);
  return html`<div class="audit-page">
    <h1>Audit log</h1>
    <${Problem} error=${error} />
    ${rows.length === 0 && !loading && !error && html`<${Empty}>Nothing has changed in this workspace yet.</${Empty}>`}
    ${rows.length > 0 && html`<div class="table-wrap"><table>
      <thead><tr><th scope="col">when</th><th scope="col">who</th><th scope="col">action</th><th scope="col">resource</th><th scope="col">result</th></tr></thead>
      <tbody>${rows.map((r) => html`<tr><td>${when(r.at)}</td><td>${r.actor}</td><td><code>${r.action}</code></td><td>${r.resource}</td>
        <td><span class=${`badge result-${r.result}`}>${r.status}</span></td></tr>`)}</tbody>
    </table></div>`}
    ${loading && html`<${Loading} what="the audit log" />`}
    ${cursor && !loading && html`<button class="more" onClick=${() => load(cursor)}>Older entries</button>`}
  </div>`;
}
