// The app: who is signed in, their workspaces, and the page of the path.

import { api, restore, signOut } from "./api.js";
import { html, render, useEffect, useState } from "./html.js";
import { Agents } from "./pages/agents.js";
import { Audit } from "./pages/audit.js";
import { SignIn, SignUp } from "./pages/auth.js";
import { Board } from "./pages/board.js";
import { Budgets } from "./pages/budgets.js";
import { TaskDetail } from "./pages/task.js";
import { WorkflowRun, Workflows } from "./pages/workflows.js";
import { interceptLinks, match, navigate, useLocation } from "./routes.js";
import { Shell } from "./shell.js";
import { Loading, Problem } from "./ui.js";

const WS_KEY = "vapora.workspace"; // which workspace was open last: not a secret

const PAGES = {
  board: Board,
  task: TaskDetail,
  workflows: Workflows,
  run: WorkflowRun,
  agents: Agents,
  agent: Agents,
  budgets: Budgets,
  audit: Audit,
};

function App() {
  const where = useLocation();
  const [user, setUser] = useState(undefined); // undefined: not known yet; null: signed out
  const [workspaces, setWorkspaces] = useState(null);
  const [ws, setWs] = useState(localStorage.getItem(WS_KEY) || "");
  const [error, setError] = useState(null);

  useEffect(() => {
    restore().then(setUser, (err) => {
      setError(err);
      setUser(null);
    });
  }, []);

  const loadWorkspaces = async (prefer) => {
    const { items } = await api("GET", "/api/v1/workspaces");
    setWorkspaces(items);
    const chosen = items.find((w) => w.id === (prefer || ws)) || items[0];
    if (chosen) switchTo(chosen.id);
  };

  useEffect(() => {
    if (user) loadWorkspaces().catch(setError);
  }, [user]);

  const switchTo = (id) => {
    localStorage.setItem(WS_KEY, id);
    setWs(id);
  };

  const route = match(where.path);
  if (user === undefined) return html`<${Loading} what="your session" />`;
  if (!user) {
    if (route.name === "signup") return html`<${SignUp} onSignedIn=${signedIn} />`;
    if (route.name !== "signin") navigate(`/signin`, { replace: true });
    return html`<div><${Problem} error=${error} /><${SignIn} onSignedIn=${signedIn} /></div>`;
  }
  if (["home", "signin", "signup"].includes(route.name)) {
    navigate("/board", { replace: true });
    return null;
  }
  if (!workspaces) return html`<${Problem} error=${error} /><${Loading} what="your workspaces" />`;

  function signedIn(u) {
    setError(null);
    setWorkspaces(null);
    setUser(u);
    navigate("/board", { replace: true });
  }

  const current = workspaces.find((w) => w.id === ws) || workspaces[0];
  const ctx = {
    user,
    workspaces,
    ws: current ? current.id : "",
    role: current ? current.role : "",
    switchTo,
    added: (w) => loadWorkspaces(w.id).catch(setError),
    signOut: async () => {
      await signOut().catch(() => {});
      setUser(null);
      navigate("/signin");
    },
  };
  const Page = PAGES[route.name];
  return html`<${Shell} ctx=${ctx} path=${where.path}>
    <${Problem} error=${error} />
    ${!current
      ? html`<p class="empty">You are not a member of any workspace; create one above.</p>`
      : Page
        ? html`<${Page} key=${`${route.name}:${ctx.ws}`} ctx=${ctx} params=${route.params} search=${where.search} />`
        : html`<div class="not-found"><h1>Not found</h1><p>There is no page at ${where.path}.</p><a href="/board">Back to the board</a></div>`}
  </${Shell}>`;
}

interceptLinks();
render(html`<${App} />`, document.getElementById("app"));
