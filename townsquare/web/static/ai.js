// The assistant panel and chats with creator AIs: stream server-sent events from POST endpoints,
// render each step, and let the person confirm or cancel actions. No framework, no build step.
(function () {
  "use strict";
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
  const headers = { "Content-Type": "application/json", "Accept": "text/event-stream", "X-CSRF-Token": csrf };

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // Text with [post 12] and [1] citations, and post addresses a model wrote (/p/12, /posts/12),
  // turned into links to the post page; everything else stays text (no HTML).
  function linked(text, citations) {
    const frag = document.createDocumentFragment();
    const re = /\[post (\d+)\]|\[(\d+)\]|(?:^|(?<=[\s(]))\/(?:p|posts)\/(\d+)\b/g;
    let last = 0, m;
    while ((m = re.exec(text)) !== null) {
      frag.appendChild(document.createTextNode(text.slice(last, m.index)));
      let href = null;
      if (m[1]) href = "/p/" + m[1];
      else if (m[3]) href = "/p/" + m[3];
      else if (citations && citations[Number(m[2]) - 1]) href = citations[Number(m[2]) - 1].url || "/p/" + citations[Number(m[2]) - 1];
      if (href) { const a = el("a", "", m[0]); a.href = href; frag.appendChild(a); }
      else frag.appendChild(document.createTextNode(m[0]));
      last = re.lastIndex;
    }
    frag.appendChild(document.createTextNode(text.slice(last)));
    return frag;
  }

  async function* streamEvents(url, body) {
    const res = await fetch(url, { method: "POST", headers, credentials: "same-origin", body: JSON.stringify(body) });
    if (!res.ok) {
      let message = "Something went wrong (" + res.status + ")";
      try { message = (await res.json()).error.message; } catch (e) { /* not JSON */ }
      yield { type: "error", message };
      return;
    }
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const data = frame.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
        if (data) { try { yield JSON.parse(data); } catch (e) { /* skip a broken frame */ } }
      }
    }
  }

  function bubble(log, who, text, citations) {
    const li = el("li", "ai-msg " + who);
    if (who === "ai") li.appendChild(el("span", "ai-label", "AI"));
    const b = el("div", "bubble");
    if (text) b.appendChild(linked(text, citations));
    li.appendChild(b);
    log.appendChild(li);
    li.scrollIntoView({ block: "end", behavior: "smooth" });
    return b;
  }

  // ---------- the assistant ----------
  const panel = document.getElementById("assistant-panel");
  if (panel) {
    const log = document.getElementById("assistant-log");
    const form = document.getElementById("assistant-form");
    const input = document.getElementById("assistant-input");
    let current = null;  // the answer bubble being streamed

    async function decide(actionId, verb, card) {
      card.querySelectorAll("button").forEach((b) => { b.disabled = true; });
      const res = await fetch(`/api/assistant/actions/${actionId}/${verb}`, { method: "POST", headers, credentials: "same-origin" });
      let data = {};
      try { data = await res.json(); } catch (e) { /* empty */ }
      const note = res.ok ? (verb === "confirm" ? "✓ " + (data.text || "Done.") : "Cancelled.") : (data.error ? data.error.message : "Failed");
      card.appendChild(el("div", res.ok ? "muted" : "ai-error", note));
    }

    function render(step) {
      switch (step.type) {
        case "user": bubble(log, "me", step.text); current = null; break;
        case "tool_call": {
          const li = el("li", "ai-tool");
          li.append("Using ", el("code", "", step.tool), " ", el("span", "faint", JSON.stringify(step.arguments || {})));
          log.appendChild(li);
          break;
        }
        case "tool_result":
          if (!step.ok) log.appendChild(el("li", "ai-tool ai-error", "Could not: " + step.error));
          break;
        case "confirmation": {
          const li = el("li", "ai-confirm");
          li.appendChild(el("b", "", "Confirm this action?"));
          li.appendChild(linked(step.summary));
          const row = el("div", "row");
          const cancel = el("button", "btn ghost small", "Cancel");
          const ok = el("button", "btn small", "Confirm");
          cancel.type = ok.type = "button";
          cancel.addEventListener("click", () => decide(step.action_id, "cancel", li));
          ok.addEventListener("click", () => decide(step.action_id, "confirm", li));
          row.append(cancel, ok);
          li.appendChild(row);
          log.appendChild(li);
          break;
        }
        case "shield": log.appendChild(el("li", "ai-shield", "Safety shield: " + (step.reason || "flagged"))); break;
        case "text_delta":
          if (!current) current = bubble(log, "ai", "");
          current.classList.add("ai-typing");
          current.appendChild(document.createTextNode(step.text));
          break;
        case "text":
          if (!current || !step.replace) current = bubble(log, "ai", "");
          current.classList.remove("ai-typing");
          current.textContent = "";
          current.appendChild(linked(step.text));
          current = null;
          break;
        case "error": log.appendChild(el("li", "ai-error", step.message)); break;
        default: break;
      }
    }

    log.querySelectorAll("li[data-step]").forEach((li) => {
      const step = JSON.parse(li.dataset.step);
      li.remove();
      render(step);
    });
    log.querySelectorAll(".ai-confirm button").forEach((b) => { b.disabled = true; });  // history: decided already or later

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = input.value.trim();
      if (!text) return;
      input.value = "";
      form.querySelector("button").disabled = true;
      try {
        let id = panel.dataset.conversationId;
        if (!id) {
          const res = await fetch("/api/assistant/conversations", { method: "POST", headers, credentials: "same-origin" });
          id = (await res.json()).id;
          panel.dataset.conversationId = id;
          history.replaceState(null, "", "/assistant?c=" + id);
        }
        for await (const step of streamEvents(`/api/assistant/conversations/${id}/messages`, { text })) render(step);
      } finally {
        form.querySelector("button").disabled = false;
        input.focus();
      }
    });
    input.addEventListener("keydown", (e) => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); } });
  }

  // ---------- chatting with a creator's AI ----------
  const chat = document.getElementById("ai-chat");
  if (chat) {
    const log = document.getElementById("ai-chat-log");
    const form = document.getElementById("ai-chat-form");
    const input = document.getElementById("ai-chat-input");
    log.querySelectorAll("li[data-citations]").forEach((li) => {
      const cites = JSON.parse(li.dataset.citations || "[]").map((id) => ({ url: "/p/" + id }));
      const b = li.querySelector(".bubble");
      const text = b.textContent;
      b.textContent = "";
      b.appendChild(linked(text, cites));
    });
    if (form) {
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        const text = input.value.trim();
        if (!text) return;
        input.value = "";
        bubble(log, "me", text);
        const answer = bubble(log, "ai", "");
        answer.classList.add("ai-typing");
        const url = `/api/studio/creators/${chat.dataset.handle}/ais/${chat.dataset.slug}/chat`;
        for await (const ev of streamEvents(url, { text })) {
          if (ev.type === "delta") answer.appendChild(document.createTextNode(ev.text));
          else if (ev.type === "message") {
            answer.textContent = "";
            answer.appendChild(linked(ev.text, ev.citations));
            answer.dataset.status = ev.status;
          } else if (ev.type === "error") { answer.textContent = ev.message; answer.classList.add("ai-error"); }
        }
        answer.classList.remove("ai-typing");
      });
      input.addEventListener("keydown", (e) => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); } });
    }
  }
})();
