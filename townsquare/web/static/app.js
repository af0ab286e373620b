/* Townsquare web app: small progressive enhancements on server-rendered pages (no build step).
 *
 * - like / repost / follow without a full reload, through the native JSON API (cookie auth);
 * - "load more" and infinite scroll with the server's cursors;
 * - impression and dwell logging for the recommender: an IntersectionObserver sees each post card,
 *   events are batched to POST /api/events and flushed with navigator.sendBeacon when the page hides;
 * - composer niceties (image/video preview, character counter), relative times, menus, the report dialog.
 * Every form still works without JavaScript.
 */
(function () {
  "use strict";

  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
  // The page's language: strings the script writes, translated by the server (web/i18n.py JS_STRINGS).
  const STRINGS = JSON.parse(document.getElementById("i18n-strings")?.textContent || "{}");
  const t = (text, values) => (STRINGS[text] || text).replace(/\{(\w+)\}/g, (m, k) => (values && k in values ? values[k] : m));
  const signedIn = document.body.dataset.signedIn === "1";
  // Impressions and reading time are not sent for people who turned them off (Settings > Account).
  const tracking = document.body.dataset.tracking !== "0";
  const EVENTS_URL = document.body.dataset.eventsUrl || "/api/events";

  // ---------- small helpers ----------
  function toast(text) {
    let el = document.querySelector(".toast");
    if (!el) {
      el = document.createElement("div");
      el.className = "toast";
      el.setAttribute("role", "status");
      document.body.appendChild(el);
    }
    el.textContent = text;
    el.classList.add("show");
    clearTimeout(el._timer);
    el._timer = setTimeout(() => el.classList.remove("show"), 2600);
  }

  async function api(method, url, body) {
    const opts = {
      method,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrf },
    };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    const res = await fetch(url, opts);
    let data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    if (!res.ok) {
      const message = data && data.error ? data.error.message : "Something went wrong (" + res.status + ")";
      throw new Error(message);
    }
    return data;
  }

  function formatCount(n) {
    if (n < 1000) return String(n);
    if (n < 1e6) return (n / 1000).toFixed(n < 1e4 ? 1 : 0).replace(/\.0$/, "") + "K";
    return (n / 1e6).toFixed(1).replace(/\.0$/, "") + "M";
  }

  // ---------- relative times ----------
  function relTime(date) {
    const s = Math.round((Date.now() - date.getTime()) / 1000);
    if (s < 45) return "now";
    if (s < 3600) return Math.round(s / 60) + "m";
    if (s < 86400) return Math.round(s / 3600) + "h";
    if (s < 7 * 86400) return Math.round(s / 86400) + "d";
    const opts = { month: "short", day: "numeric" };
    if (date.getFullYear() !== new Date().getFullYear()) opts.year = "numeric";
    return date.toLocaleDateString(undefined, opts);
  }
  function refreshTimes(root) {
    (root || document).querySelectorAll("time[data-rel]").forEach((el) => {
      const d = new Date(el.getAttribute("datetime"));
      if (!isNaN(d)) {
        el.textContent = relTime(d);
        el.title = d.toLocaleString();
      }
    });
  }

  // ---------- impression and dwell logging ----------
  const events = {
    queue: [],
    visible: new Map(), // card element -> time it became visible (ms)
    seen: new WeakSet(), // cards already counted as an impression on this page view
    MIN_DWELL_MS: 250,

    push(ev) {
      if (!signedIn) return;
      this.queue.push(ev);
      if (this.queue.length >= 25) this.flush(false);
    },
    cardInfo(card) {
      return {
        entity_type: card.dataset.entityType || "post",
        entity_id: card.dataset.postId,
        surface: card.dataset.surface || document.body.dataset.surface || "home",
        position: card.dataset.position !== undefined ? parseInt(card.dataset.position, 10) : null,
      };
    },
    startDwell(card) {
      if (!tracking) return;
      if (!this.visible.has(card)) this.visible.set(card, performance.now());
      if (!this.seen.has(card)) {
        this.seen.add(card);
        this.push(Object.assign({ action: "impression" }, this.cardInfo(card)));
      }
    },
    endDwell(card) {
      const start = this.visible.get(card);
      if (start === undefined) return;
      this.visible.delete(card);
      const ms = Math.round(performance.now() - start);
      if (ms >= this.MIN_DWELL_MS) this.push(Object.assign({ action: "dwell", dwell_ms: ms }, this.cardInfo(card)));
    },
    endAll() {
      Array.from(this.visible.keys()).forEach((card) => this.endDwell(card));
    },
    resumeAll() {
      document.querySelectorAll("[data-post-id][data-track]").forEach((card) => {
        if (card._inView) this.startDwell(card);
      });
    },
    flush(onHide) {
      if (!this.queue.length) return;
      const batch = this.queue.splice(0, this.queue.length);
      const body = JSON.stringify({ events: batch });
      if (onHide && navigator.sendBeacon) {
        let ok = false;
        // A beacon cannot carry headers: the CSRF token goes in the query (see api/csrf.py).
        const beaconUrl = EVENTS_URL + (EVENTS_URL.includes("?") ? "&" : "?") + "csrf=" + encodeURIComponent(csrf);
        try { ok = navigator.sendBeacon(beaconUrl, new Blob([body], { type: "application/json" })); } catch (e) { ok = false; }
        if (ok) return;
      }
      fetch(EVENTS_URL, {
        method: "POST",
        credentials: "same-origin",
        keepalive: true,
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body,
      }).catch(() => {});
    },
  };
  window.townsquareEvents = events; // for tests and debugging

  const observer = "IntersectionObserver" in window ? new IntersectionObserver((entries) => {
    entries.forEach((entry) => {
      const card = entry.target;
      card._inView = entry.isIntersecting && entry.intersectionRatio >= 0.5;
      if (document.visibilityState !== "visible") return;
      if (card._inView) events.startDwell(card);
      else events.endDwell(card);
    });
  }, { threshold: [0, 0.5, 1] }) : null;

  function trackCards(root) {
    if (!observer || !signedIn) return;
    root = root || document;
    const cards = Array.from(root.querySelectorAll("[data-post-id][data-track]"));
    if (root.matches && root.matches("[data-post-id][data-track]")) cards.push(root);
    cards.forEach((card) => observer.observe(card));
  }

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") {
      events.endAll();
      events.flush(true);
    } else {
      events.resumeAll();
    }
  });
  window.addEventListener("pagehide", () => { events.endAll(); events.flush(true); });
  setInterval(() => events.flush(false), 15000);

  // ---------- like / repost / follow without reloading ----------
  document.addEventListener("submit", async (e) => {
    const form = e.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.api) return;
    e.preventDefault();
    const btn = form.querySelector("button");
    if (btn.disabled) return;
    const on = form.dataset.state === "on";
    let url = form.dataset.api;
    const card = form.closest("[data-post-id]");
    if (card && card.dataset.surface && form.dataset.kind !== "follow") {
      url += (url.includes("?") ? "&" : "?") + "surface=" + encodeURIComponent(card.dataset.surface);
    }
    const method = on ? (form.dataset.offMethod || "DELETE") : (form.dataset.onMethod || "POST");
    btn.disabled = true;
    try {
      if (form.dataset.kind === "react") {
        await react(form, url);
        return;
      }
      const data = await api(method, url, form.dataset.body ? JSON.parse(form.dataset.body) : undefined);
      applyToggle(form, !on, data);
    } catch (err) {
      toast(err.message);
    } finally {
      btn.disabled = false;
    }
  });

  // A reaction from the picker: the same kind again removes it, another kind replaces it.
  async function react(form, url) {
    const card = form.closest("[data-post-id]");
    const kind = form.dataset.reaction;
    const chosen = form.querySelector("button").classList.contains("chosen");
    const data = chosen ? await api("DELETE", url) : await api("POST", url, { kind });
    const mine = data && data.viewer ? data.viewer.reaction : (chosen ? null : kind);
    card.querySelectorAll(".reaction-list button").forEach((b) => b.classList.remove("chosen"));
    if (mine) card.querySelector('.reaction-list form[data-reaction="' + mine + '"] button')?.classList.add("chosen");
    const likeForm = card.querySelector('form[data-kind="like"]');
    const likeBtn = likeForm.querySelector("button");
    likeForm.dataset.state = mine ? "on" : "off";
    likeBtn.classList.toggle("on", !!mine);
    const emoji = mine && mine !== "like" ? form.querySelector("button").textContent.trim() : "";
    likeBtn.querySelector(".emoji").textContent = emoji;
    likeBtn.classList.toggle("has-emoji", !!emoji);
    const countEl = likeBtn.querySelector(".count");
    if (countEl && data && typeof data.like_count === "number") {
      countEl.dataset.n = data.like_count;
      countEl.textContent = data.like_count ? formatCount(data.like_count) : "";
    }
    form.closest("details")?.removeAttribute("open");
  }

  function applyToggle(form, on, data) {
    const kind = form.dataset.kind;
    const btn = form.querySelector("button");
    if (kind === "follow") {
      // The server says what the relationship is now: following, requested or none.
      const state = (data && (data.state || data.relationship)) || (on ? "following" : "none");
      const label = btn.querySelector(".label-default");
      btn.classList.remove("following", "ghost");
      if (state === "following" || state === "requested") {
        form.dataset.state = "on";
        btn.classList.add("ghost");
        if (state === "following") btn.classList.add("following");
        if (label) label.textContent = state === "following" ? "Following" : "Requested";
        const hover = btn.querySelector(".label-hover");
        if (hover) hover.textContent = state === "following" ? "Unfollow" : "Cancel";
      } else {
        form.dataset.state = "off";
        if (label) label.textContent = form.dataset.followLabel || "Follow";
      }
      return;
    }
    form.dataset.state = on ? "on" : "off";
    btn.classList.toggle("on", on);
    if (!on) btn.classList.remove("has-emoji");
    btn.setAttribute("aria-pressed", on ? "true" : "false");
    if (on) {
      btn.classList.remove("pop");
      void btn.offsetWidth;
      btn.classList.add("pop");
    }
    const countEl = btn.querySelector(".count");
    if (countEl) {
      let n = parseInt(countEl.dataset.n || "0", 10);
      const serverCount = data && (data[kind + "_count"] ?? (data.post && data.post[kind + "_count"]));
      n = typeof serverCount === "number" ? serverCount : Math.max(0, n + (on ? 1 : -1));
      countEl.dataset.n = n;
      countEl.textContent = n ? formatCount(n) : "";
    }
  }

  // ---------- a click on a card (not on its links or buttons) opens the post ----------
  document.addEventListener("click", (e) => {
    const card = e.target.closest("article.post[data-href]");
    if (!card || e.defaultPrevented || e.button !== 0) return;
    if (e.target.closest("a, button, form, details, video, input, textarea, label")) return;
    if (window.getSelection && String(window.getSelection()).length) return; // selecting text
    if (e.metaKey || e.ctrlKey) window.open(card.dataset.href, "_blank");
    else location.href = card.dataset.href;
  });

  // ---------- "Show more": a long post's whole text, in place ----------
  document.addEventListener("click", (e) => {
    const link = e.target.closest("[data-show-more]");
    if (!link) return;
    const body = document.getElementById(link.dataset.showMore);
    if (!body) return;
    e.preventDefault();
    const open = body.classList.toggle("clamped") === false;
    link.textContent = open ? t("Show less") : t("Show more");
    link.setAttribute("aria-expanded", open ? "true" : "false");
  });

  // ---------- back links go back in history when there is somewhere to go back to ----------
  document.addEventListener("click", (e) => {
    const link = e.target.closest("a[data-back]");
    if (!link || history.length < 2 || !document.referrer.startsWith(location.origin)) return;
    e.preventDefault();
    history.back();
  });

  // ---------- share: copy the link ----------
  document.addEventListener("click", async (e) => {
    const btn = e.target.closest("[data-share]");
    if (!btn) return;
    e.preventDefault();
    const url = new URL(btn.dataset.share, location.href).href;
    try {
      if (navigator.share && matchMedia("(max-width: 640px)").matches) await navigator.share({ url });
      else { await navigator.clipboard.writeText(url); toast(t("Link copied")); }
      const card = btn.closest("[data-post-id]");
      if (card) events.push(Object.assign({ action: "share" }, events.cardInfo(card)));
    } catch (err) { /* dismissed */ }
  });

  // ---------- load more / infinite scroll ----------
  async function loadMore(link) {
    if (link.dataset.loading) return;
    link.dataset.loading = "1";
    const holder = link.closest(".load-more");
    const spinner = document.createElement("div");
    spinner.className = "spinner";
    link.hidden = true;
    holder.appendChild(spinner);
    try {
      const res = await fetch(link.href, { headers: { "X-Fragment": "1" }, credentials: "same-origin" });
      if (!res.ok) throw new Error("Could not load more (" + res.status + ")");
      const html = await res.text();
      const tpl = document.createElement("template");
      tpl.innerHTML = html;
      const frag = tpl.content;
      const feed = holder.parentElement.querySelector(".feed") || holder.previousElementSibling;
      const newMore = frag.querySelector(".load-more");
      if (newMore) newMore.remove();
      const nodes = Array.from(frag.children);
      nodes.forEach((n) => feed.appendChild(n));
      nodes.forEach((n) => { refreshTimes(n); trackCards(n); });
      if (newMore) {
        holder.replaceWith(newMore);
        watchLoadMore(newMore);
      } else {
        holder.remove();
      }
    } catch (err) {
      spinner.remove();
      link.hidden = false;
      delete link.dataset.loading;
      toast(err.message);
    }
  }
  const moreObserver = "IntersectionObserver" in window ? new IntersectionObserver((entries) => {
    entries.forEach((entry) => {
      if (entry.isIntersecting) {
        const link = entry.target.querySelector("a[data-more]");
        if (link) loadMore(link);
      }
    });
  }, { rootMargin: "600px 0px" }) : null;
  function watchLoadMore(root) {
    const holders = root.classList && root.classList.contains("load-more") ? [root] : root.querySelectorAll(".load-more");
    holders.forEach((h) => { if (moreObserver && h.dataset.auto !== "0") moreObserver.observe(h); });
  }
  document.addEventListener("click", (e) => {
    const link = e.target.closest("a[data-more]");
    if (!link) return;
    e.preventDefault();
    loadMore(link);
  });

  // ---------- composer ----------
  function setupComposer(form) {
    const text = form.querySelector("textarea[name=text]");
    const counter = form.querySelector(".counter");
    // No maxlength on the textarea: the browser would cut a pasted long text silently. The counter
    // says how much room is left, and past the limit the composer says so and will not post.
    const max = parseInt(text?.dataset.max || text?.getAttribute("maxlength") || "0", 10);
    const limitNote = form.querySelector(".compose-limit");
    const maxBytes = parseInt(form.querySelector("input[type=file]")?.dataset.maxBytes || "0", 10);
    const number = (n) => n.toLocaleString();
    const megabytes = (b) => (b / 1048576).toFixed(b < 10485760 ? 1 : 0).replace(/\.0$/, "") + " MB";
    const submit = form.querySelector("button[type=submit]");
    const fileInput = form.querySelector("input[type=file][name=media]");
    const preview = form.querySelector(".preview");
    const kindInput = form.querySelector("input[name=kind]");
    function update() {
      if (!text) return;
      const n = Array.from(text.value.trim()).length; // characters, as the server counts them
      if (counter && max) {
        counter.textContent = n > max * 0.8 ? number(n) + " / " + number(max) : "";
        counter.classList.toggle("over", n > max);
      }
      const files = fileInput && fileInput.files ? Array.from(fileInput.files) : [];
      const hasMedia = files.length > 0;
      const tooBig = maxBytes ? files.filter((f) => f.size > maxBytes) : [];
      const link = form.querySelector("input[name=link_url]");
      const hasLink = link && link.value.trim() !== "";
      const problems = [];
      if (max && n > max) {
        problems.push(t("Your post is {over} characters over the {max}-character limit. Shorten it to post.",
          { over: number(n - max), max: number(max) }));
      }
      if (tooBig.length) {
        problems.push(t("{files}: larger than the {limit} upload limit. Choose a smaller file.",
          { files: tooBig.map((f) => f.name).join(", "), limit: megabytes(maxBytes) }));
      }
      if (limitNote) {
        limitNote.textContent = problems.join(" ");
        limitNote.hidden = problems.length === 0;
      }
      if (submit) submit.disabled = (n === 0 && !hasMedia && !hasLink) || problems.length > 0;
      if (text.dataset.autogrow !== undefined) {
        text.style.height = "auto";
        text.style.height = Math.min(text.scrollHeight, 420) + "px";
      }
    }
    text?.addEventListener("input", update);
    form.querySelector("input[name=link_url]")?.addEventListener("input", update);
    form.querySelectorAll("[data-pick]").forEach((btn) => {
      btn.addEventListener("click", () => {
        if (!fileInput) return;
        const video = btn.dataset.pick === "video";
        fileInput.accept = video ? "video/mp4,video/webm,video/quicktime" : "image/png,image/jpeg,image/gif,image/webp";
        fileInput.multiple = !video;
        fileInput.click();
      });
    });
    form.querySelector("[data-toggle-link]")?.addEventListener("click", () => {
      form.classList.toggle("with-link");
      if (form.classList.contains("with-link")) form.querySelector("input[name=link_url]")?.focus();
      if (kindInput) kindInput.value = form.classList.contains("with-link") ? "link" : "";
    });
    fileInput?.addEventListener("change", () => {
      if (!preview) return;
      const grid = preview.querySelector(".preview-grid");
      grid.querySelectorAll("img,video").forEach((el) => { URL.revokeObjectURL(el.src); el.remove(); });
      const files = Array.from(fileInput.files).slice(0, 4);
      if (!files.length) { preview.hidden = true; update(); return; }
      grid.querySelectorAll(".alt-field").forEach((el) => el.remove());
      form.dataset.nudged = "";
      files.forEach((file, i) => {
        const isVideo = file.type.startsWith("video/");
        const el = document.createElement(isVideo ? "video" : "img");
        el.src = URL.createObjectURL(file);
        if (isVideo) { el.controls = true; el.muted = true; } else el.alt = "Preview of " + file.name;
        grid.appendChild(el);
        // Alt text for each file: read aloud by screen readers, shown when images do not load.
        const field = document.createElement("label");
        field.className = "alt-field";
        const input = document.createElement("input");
        input.className = "input alt-input";
        input.name = "alt";
        input.maxLength = 1500;
        input.placeholder = isVideo ? t("Describe this video (optional)") : t("Describe this photo for people who can't see it");
        input.setAttribute("aria-label", "Description of " + (isVideo ? "video " : "photo ") + (i + 1));
        field.appendChild(input);
        grid.appendChild(field);
      });
      grid.className = "preview-grid n" + files.length;
      preview.hidden = false;
      if (kindInput) kindInput.value = files[0].type.startsWith("video/") ? "video" : "photo";
      update();
    });
    preview?.querySelector(".remove")?.addEventListener("click", () => {
      fileInput.value = "";
      preview.hidden = true;
      preview.querySelectorAll("img,video").forEach((el) => { URL.revokeObjectURL(el.src); el.remove(); });
      preview.querySelectorAll(".alt-field").forEach((el) => el.remove());
      if (kindInput) kindInput.value = "";
      update();
    });
    form.addEventListener("submit", (e) => {
      // A nudge, once: photos without a description are posted only when asked again.
      const missing = Array.from(form.querySelectorAll(".alt-input")).filter((input, i) =>
        !input.value.trim() && !(fileInput.files[i] && fileInput.files[i].type.startsWith("video/")));
      if (missing.length && form.dataset.nudged !== "1") {
        e.preventDefault();
        form.dataset.nudged = "1";
        const nudge = form.querySelector(".alt-nudge");
        if (nudge) nudge.hidden = false;
        missing[0].focus();
        if (submit) submit.textContent = t("Post without a description");
        return;
      }
      if (submit) { submit.disabled = true; submit.textContent = submit.dataset.busy || "Posting…"; }
    });
    update();
  }

  // ---------- comments: reply toggles ----------
  document.addEventListener("click", (e) => {
    const btn = e.target.closest("[data-reply-to]");
    if (!btn) return;
    const form = document.getElementById("reply-" + btn.dataset.replyTo);
    if (!form) return;
    form.classList.toggle("open");
    if (form.classList.contains("open")) form.querySelector("textarea")?.focus();
  });

  // ---------- menus: close others, close on outside click ----------
  document.addEventListener("click", (e) => {
    document.querySelectorAll("details.menu[open]").forEach((d) => { if (!d.contains(e.target)) d.removeAttribute("open"); });
  });
  // An open menu lifts its card above the next ones (app.css .menu-open; :has() does it too where supported).
  document.addEventListener("toggle", (e) => {
    const menu = e.target;
    if (!(menu instanceof HTMLDetailsElement) || !menu.classList.contains("menu")) return;
    const card = menu.closest("article.post");
    if (card) card.classList.toggle("menu-open", !!card.querySelector("details.menu[open]"));
  }, true);

  // ---------- report dialog ----------
  document.addEventListener("click", (e) => {
    const link = e.target.closest("[data-report]");
    if (!link) return;
    const dialog = document.getElementById("report-dialog");
    if (!dialog || typeof dialog.showModal !== "function") return; // falls back to the report page
    e.preventDefault();
    link.closest("details")?.removeAttribute("open");
    const form = dialog.querySelector("form");
    form.querySelector("input[name=post_id]").value = link.dataset.postId || "";
    form.querySelector("input[name=account_id]").value = link.dataset.accountId || "";
    form.querySelector("input[name=next]").value = location.pathname + location.search;
    dialog.querySelector(".report-target").textContent = link.dataset.report;
    dialog.showModal();
  });
  document.addEventListener("click", (e) => {
    const close = e.target.closest("[data-close-dialog]");
    if (close) close.closest("dialog")?.close();
  });

  // ---------- messages: scroll to the newest, send with Enter ----------
  function setupChat() {
    const chat = document.querySelector(".chat");
    if (chat) chat.scrollTop = chat.scrollHeight;
    // New messages appear without a reload: the live stream says when (refreshChat), and the
    // conversation is also fetched again every few seconds in case the stream is down.
    if (chat && chat.dataset.poll) {
      let last = chat.innerHTML.trim();
      const refresh = async () => {
        try {
          const res = await fetch(chat.dataset.poll, { headers: { "X-Fragment": "1" }, credentials: "same-origin" });
          if (!res.ok) return;
          const html = (await res.text()).trim();
          if (html === last) return;
          const atBottom = chat.scrollHeight - chat.scrollTop - chat.clientHeight < 80;
          chat.innerHTML = html;
          last = chat.innerHTML.trim();
          if (atBottom) chat.scrollTop = chat.scrollHeight;
        } catch (e) { /* offline: try again later */ }
      };
      refreshChat = refresh;
      setInterval(() => { if (document.visibilityState === "visible") refresh(); }, 6000);
    }
    const form = document.querySelector(".chat-form");
    const text = form?.querySelector("textarea");
    text?.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); if (text.value.trim()) form.requestSubmit(); }
    });
  }

  // ---------- live updates: new notifications and messages without a reload (/live) ----------
  let refreshChat = null;
  function setBadges(data) {
    const pairs = [["/notifications", data.unread_notifications], ["/messages", data.unread_messages]];
    pairs.forEach(([href, n]) => {
      document.querySelectorAll('nav a[href="' + href + '"]').forEach((link) => {
        let badge = link.querySelector(".badge");
        if (!n) { badge?.remove(); return; }
        if (!badge) { badge = document.createElement("span"); badge.className = "badge"; link.appendChild(badge); }
        badge.textContent = n < 100 ? String(n) : "99+";
      });
    });
  }
  function startLive() {
    if (!signedIn || !("EventSource" in window)) return;
    const source = new EventSource("/live");
    window.townsquareLive = source; // for tests
    source.addEventListener("notification", (e) => {
      const data = JSON.parse(e.data);
      setBadges(data);
      const list = document.querySelector(".notes-live");
      if (list && data.html) {
        list.insertAdjacentHTML("afterbegin", data.html);
        refreshTimes(list);
        document.querySelector(".notes-empty")?.remove();
      } else toast(data.text);
    });
    source.addEventListener("message", (e) => {
      const data = JSON.parse(e.data);
      const chat = document.querySelector(".chat[data-poll]");
      if (chat && refreshChat && chat.dataset.poll === "/messages/" + data.with) refreshChat();
      else { setBadges(data); toast(t("New message from @{handle}", { handle: data.with })); }
    });
    source.addEventListener("signed-out", () => source.close());
  }

  // ---------- range inputs show their value in the label's hint ----------
  document.addEventListener("input", (e) => {
    const range = e.target;
    if (!(range instanceof HTMLInputElement) || range.type !== "range") return;
    const hint = document.querySelector('label[for="' + range.id + '"] .hint');
    if (!hint) return;
    const v = parseFloat(range.value);
    hint.textContent = "(" + (range.name === "discovery" ? v.toFixed(1) : v + "×") + ")";
  });

  // ---------- start ----------

  refreshTimes();
  setInterval(refreshTimes, 60000);
  trackCards();
  watchLoadMore(document);
  document.querySelectorAll("form.composer-form").forEach(setupComposer);
  setupChat();
  startLive();
})();
