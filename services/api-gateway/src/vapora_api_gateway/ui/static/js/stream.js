// A workspace's live events: the gateway's Server-Sent Events read with fetch, so the access token
// travels in the Authorization header (never in a URL). On a drop it reconnects with
// Last-Event-ID = the last event seen, and the gateway replays everything after it; when no event
// had been seen yet, onReady says so (resumed: false) and the page reads its data again.

import { ApiError, accessToken } from "./api.js";

const MAX_DELAY_MS = 5000;

function parseBlock(block) {
  const out = { comments: [], id: null, event: "message", data: [] };
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) out.comments.push(line.slice(1).trim());
    else if (line.startsWith("id:")) out.id = line.slice(3).trim();
    else if (line.startsWith("event:")) out.event = line.slice(6).trim();
    else if (line.startsWith("data:")) out.data.push(line.slice(5).replace(/^ /, ""));
  }
  return out;
}

// watch(ws, {onEvent(type, data), onReady({resumed}), onState("live"|"reconnecting", error)}) → {stop()}
export function watch(workspaceId, { onEvent, onReady = () => {}, onState = () => {} }) {
  let last = null;
  let stopped = false;
  let controller = null;

  async function connect() {
    controller = new AbortController();
    const headers = { Accept: "text/event-stream", Authorization: `Bearer ${await accessToken()}` };
    if (last !== null) headers["Last-Event-ID"] = last;
    const resp = await fetch(`/api/v1/workspaces/${encodeURIComponent(workspaceId)}/events`, {
      headers,
      signal: controller.signal,
    });
    if (!resp.ok) {
      const problem = await resp.json().catch(() => ({ detail: resp.statusText }));
      throw new ApiError(resp.status, problem);
    }
    const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value.replace(/\r\n?/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = parseBlock(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (block.comments.includes("connected")) {
          onState("live");
          onReady({ resumed: last !== null });
        }
        if (block.data.length) {
          if (block.id !== null) last = block.id;
          let data;
          try {
            data = JSON.parse(block.data.join("\n"));
          } catch {
            continue; // not ours to show; the stream goes on
          }
          onEvent(block.event, data);
        }
      }
    }
  }

  (async () => {
    let delay = 250;
    while (!stopped) {
      let error = null;
      try {
        await connect();
        delay = 250; // it was up; the gateway ended it (a restart): come back soon
      } catch (err) {
        if (stopped) return;
        error = err;
        if (err instanceof ApiError && (err.status === 403 || err.status === 404)) {
          onState("closed", err); // not ours to watch: do not hammer the gateway
          return;
        }
      }
      if (stopped) return;
      onState("reconnecting", error);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    }
  })();

  return {
    stop() {
      stopped = true;
      if (controller) controller.abort();
    },
  };
}
