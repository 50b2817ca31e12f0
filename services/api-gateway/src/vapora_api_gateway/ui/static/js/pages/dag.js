// A workflow's stages as a graph (SVG): a column per depth (the longest path from a stage with
// no needs), arrows from each need to the stage that waits for it, each stage coloured by state.

import { html } from "../html.js";

const W = 150;
const H = 46;
const GAP_X = 56;
const GAP_Y = 22;

// layout(stages: [{id, needs}]) → {nodes: {id: {x, y, depth}}, width, height}
export function layout(stages) {
  const byId = Object.fromEntries(stages.map((s) => [s.id, s]));
  const depth = {};
  const visit = (id, seen = new Set()) => {
    if (depth[id] !== undefined) return depth[id];
    if (seen.has(id)) return 0; // a cycle cannot be stored; do not hang on one anyway
    seen.add(id);
    const needs = (byId[id] && byId[id].needs) || [];
    depth[id] = needs.length ? 1 + Math.max(...needs.filter((n) => byId[n]).map((n) => visit(n, seen)), -1) : 0;
    return depth[id];
  };
  stages.forEach((s) => visit(s.id));
  const rows = {};
  const nodes = {};
  for (const s of stages) {
    const d = depth[s.id];
    const row = (rows[d] = (rows[d] || 0) + 1) - 1;
    nodes[s.id] = { x: d * (W + GAP_X), y: row * (H + GAP_Y), depth: d };
  }
  const columns = Math.max(0, ...Object.values(depth)) + 1;
  const tallest = Math.max(1, ...Object.values(rows));
  return { nodes, width: columns * (W + GAP_X) - GAP_X, height: tallest * (H + GAP_Y) - GAP_Y };
}

export function StageGraph({ stages, states, onPick }) {
  const { nodes, width, height } = layout(stages);
  const pad = 8;
  return html`<svg class="dag" role="img" aria-label="Stages of the run" viewBox=${`${-pad} ${-pad} ${width + 2 * pad} ${height + 2 * pad}`}
      width=${width + 2 * pad} height=${height + 2 * pad}>
    <defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
      <path d="M0,0 L10,5 L0,10 z" class="arrow-head" /></marker></defs>
    ${stages.flatMap((s) => (s.needs || []).filter((n) => nodes[n]).map((n) => {
      const a = nodes[n];
      const b = nodes[s.id];
      const x1 = a.x + W;
      const y1 = a.y + H / 2;
      const x2 = b.x;
      const y2 = b.y + H / 2;
      const mid = (x1 + x2) / 2;
      return html`<path class="edge" d=${`M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`} marker-end="url(#arrow)" />`;
    }))}
    ${stages.map((s) => {
      const n = nodes[s.id];
      const st = (states[s.id] || {}).state || "pending";
      return html`<g class=${`stage stage-${st}${s.kind === "gate" ? " gate" : ""}`} transform=${`translate(${n.x},${n.y})`}
          data-stage=${s.id} data-state=${st} tabindex="0" role="button" aria-label=${`${s.id}: ${st}`}
          onClick=${() => onPick(s.id)} onKeyDown=${(e) => (e.key === "Enter" || e.key === " ") && onPick(s.id)}>
        <rect width=${W} height=${H} rx=${s.kind === "gate" ? 22 : 6} />
        <text x="10" y="19" class="stage-id">${s.id}</text>
        <text x="10" y="36" class="stage-state">${st}${(states[s.id] || {}).attempt > 1 ? ` · try ${states[s.id].attempt}` : ""}</text>
      </g>`;
    })}
  </svg>`;
}
