// The app's pages by path (the gateway serves the shell at each: vapora_api_gateway/ui/pages.py
// has the same list), and navigation with the History API.

import { useEffect, useState } from "./html.js";

export const PATHS = [
  ["/", "home"],
  ["/signin", "signin"],
  ["/signup", "signup"],
  ["/board", "board"],
  ["/tasks/:id", "task"],
  ["/workflows", "workflows"],
  ["/workflow-runs/:id", "run"],
  ["/agents", "agents"],
  ["/agents/:id", "agent"],
  ["/budgets", "budgets"],
  ["/audit", "audit"],
];

export function match(pathname) {
  const parts = pathname.split("/").filter(Boolean);
  for (const [pattern, name] of PATHS) {
    const want = pattern.split("/").filter(Boolean);
    if (want.length !== parts.length) continue;
    const params = {};
    if (want.every((w, i) => (w.startsWith(":") ? (params[w.slice(1)] = decodeURIComponent(parts[i])) : w === parts[i])))
      return { name, params };
  }
  return { name: "missing", params: {} };
}

export function navigate(to, { replace = false } = {}) {
  if (to === location.pathname + location.search) return;
  history[replace ? "replaceState" : "pushState"](null, "", to);
  dispatchEvent(new PopStateEvent("popstate"));
}

export function useLocation() {
  const [where, setWhere] = useState({ path: location.pathname, search: location.search });
  useEffect(() => {
    const on = () => setWhere({ path: location.pathname, search: location.search });
    addEventListener("popstate", on);
    return () => removeEventListener("popstate", on);
  }, []);
  return where;
}

// Same-origin links navigate inside the app (a modified click still opens a new tab).
export function interceptLinks() {
  document.addEventListener("click", (e) => {
    const a = e.target.closest && e.target.closest("a[href]");
    if (!a || a.target || a.hasAttribute("download") || e.defaultPrevented) return;
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const href = new URL(a.href, location.href);
    if (href.origin !== location.origin || href.pathname.startsWith("/api/") || href.pathname.startsWith("/ui/"))
      return;
    e.preventDefault();
    navigate(href.pathname + href.search);
  });
}

export function queryParams(search) {
  return Object.fromEntries(new URLSearchParams(search));
}
