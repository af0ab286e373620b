// The hands-free page: listen (tap: until you pause; hold: while held), optionally take a camera
// frame, send both to /api/voice/turns, show the answer in large type and speak it.
// The microphone is read through Web Audio: the level drives a simple voice-activity detector. Speech
// streams as 16 kHz PCM over the WebSocket /api/voice/stream while it is spoken (partial transcripts
// come back), and the reply's audio comes back sentence by sentence and plays as it arrives. Without
// a WebSocket, the recording goes as a WAV file to POST /api/voice/turns.
(() => {
  "use strict";
  const root = document.getElementById("hands-free");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
  const STRINGS = JSON.parse(document.getElementById("i18n-strings")?.textContent || "{}");
  const t = (text, values) => (STRINGS[text] || text).replace(/\{(\w+)\}/g, (m, k) => (values && k in values ? values[k] : m));
  const talk = $("talk"), label = $("talk-label"), level = $("level"), heard = $("heard"), reply = $("reply");
  const confirmBox = $("confirm"), errorBox = $("hf-error"), continuous = $("continuous");
  const useCamera = $("use-camera"), cameraBox = $("camera-box"), video = $("camera"), snapshot = $("snapshot");

  const VAD = {
    minThreshold: 0.012, // RMS of a frame that counts as voice, at least (raised over a noisy floor)
    startMs: 200,        // this much voice starts a turn
    endSilenceMs: 900,   // this much quiet after speech ends it
    prerollMs: 400,      // kept from before the start, so the first syllable is not cut
    waitMs: 10000,       // nothing said for this long: stop listening
    maxMs: 30000,        // a turn never records longer than this
  };
  const TARGET_RATE = 16000;
  const LABELS = { idle: t("Tap to talk"), listening: t("Listening…"), thinking: t("Thinking…"), speaking: t("Speaking…") };

  let state = "idle";
  let conversationId = "";
  let pending = [];
  let audioCtx = null, processor = null;
  let preroll = [], chunks = [], voiced = false, voiceMs = 0, quietMs = 0, listenedMs = 0;
  let noiseFloor = 0.005, holding = false, pressTimer = null, player = null, wakeLock = null;
  let socket = null, socketReady = false, streaming = false, queue = [], playing = false, turnDone = true;

  function setState(next) {
    state = next;
    talk.dataset.state = next;
    label.textContent = LABELS[next];
  }

  function showError(message) { errorBox.textContent = message || ""; }

  async function ensureMic() {
    if (audioCtx) return;
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, channelCount: 1 } });
    audioCtx = new (window.AudioContext || window.webkitAudioContext)();
    const source = audioCtx.createMediaStreamSource(stream);
    processor = audioCtx.createScriptProcessor(4096, 1, 1);
    processor.onaudioprocess = onAudio;
    source.connect(processor);
    processor.connect(audioCtx.destination); // outputs silence; needed for the node to run
  }

  function rms(frame) {
    let sum = 0;
    for (let i = 0; i < frame.length; i++) sum += frame[i] * frame[i];
    return Math.sqrt(sum / frame.length);
  }

  function onAudio(event) {
    if (state !== "listening") return;
    const frame = new Float32Array(event.inputBuffer.getChannelData(0));
    const ms = (frame.length / audioCtx.sampleRate) * 1000;
    const level_ = rms(frame);
    level.style.width = Math.min(100, level_ * 400) + "%";
    const threshold = Math.max(VAD.minThreshold, noiseFloor * 3);
    const loud = level_ > threshold;
    listenedMs += ms;
    if (!voiced) {
      if (!loud) noiseFloor = noiseFloor * 0.95 + level_ * 0.05;
      preroll.push(frame);
      while (preroll.length * ms > VAD.prerollMs + ms) preroll.shift();
      voiceMs = loud ? voiceMs + ms : 0;
      if (voiceMs >= VAD.startMs || holding) {
        voiced = true;
        chunks = preroll.slice();
        preroll = [];
        beginStream(chunks);
      } else if (listenedMs > VAD.waitMs) {
        stopListening(t("I didn't hear anything. Tap to try again."));
      }
      return;
    }
    chunks.push(frame);
    if (streaming) socket.send(pcm16([frame]));
    quietMs = loud ? 0 : quietMs + ms;
    if ((!holding && quietMs >= VAD.endSilenceMs) || listenedMs > VAD.maxMs) finishTurn();
  }

  async function startListening() {
    showError("");
    try {
      await ensureMic();
      await audioCtx.resume();
    } catch (err) {
      showError(t("The microphone is not available: {error}", { error: err.message }));
      return;
    }
    stopPlayback();
    openSocket();
    preroll = []; chunks = []; voiced = false; voiceMs = 0; quietMs = 0; listenedMs = 0; streaming = false;
    setState("listening");
    try { wakeLock = await navigator.wakeLock?.request("screen"); } catch (_) { wakeLock = null; }
  }

  function stopListening(message) {
    setState("idle");
    level.style.width = "0";
    if (message) showError(message);
  }

  function finishTurn() {
    if (state !== "listening") return;
    const recorded = chunks;
    chunks = [];
    setState("thinking");
    level.style.width = "0";
    if (!recorded.length) { stopListening(t("I didn't hear anything. Tap to try again.")); return; }
    if (streaming) { endStream(); return; }
    const wav = encodeWav(downsample(concat(recorded), audioCtx.sampleRate, TARGET_RATE), TARGET_RATE);
    const form = new FormData();
    form.append("audio", new Blob([wav], { type: "audio/wav" }), "speech.wav");
    send(form);
  }

  // --- streaming over the WebSocket ---------------------------------------------------------------
  function openSocket() {
    if (!window.WebSocket || (socket && socket.readyState <= 1)) return;
    try {
      socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/voice/stream");
    } catch (_) { socket = null; return; }
    socket.onmessage = (event) => onStreamMessage(JSON.parse(event.data));
    socket.onclose = () => {
      socketReady = false;
      if (streaming || !turnDone) { streaming = false; turnDone = true; stopListening(t("The connection was lost. Try again.")); }
    };
  }

  function pcm16(frames) {
    const samples = downsample(concat(frames), audioCtx.sampleRate, TARGET_RATE);
    const out = new Int16Array(samples.length);
    for (let i = 0; i < samples.length; i++) {
      const s = Math.max(-1, Math.min(1, samples[i]));
      out[i] = s < 0 ? s * 0x8000 : s * 0x7fff;
    }
    return out.buffer;
  }

  function beginStream(frames) {
    if (!socketReady) return; // not connected (yet): this turn goes by POST
    streaming = true;
    turnDone = false;
    socket.send(JSON.stringify({ type: "start", format: "pcm16", sample_rate: TARGET_RATE,
                                 conversation_id: conversationId || null }));
    socket.send(pcm16(frames));
  }

  async function endStream() {
    streaming = false;
    const end = { type: "end" };
    const frame = await cameraFrame();
    if (frame) {
      const bytes = new Uint8Array(await frame.arrayBuffer());
      let binary = "";
      for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      end.image_base64 = btoa(binary);
    }
    reply.textContent = "";
    socket.send(JSON.stringify(end));
  }

  function onStreamMessage(m) {
    if (m.type === "ready") { socketReady = true; return; }
    if (m.type === "partial") { heard.textContent = t("You: {text}", { text: m.text + " …" }); return; }
    if (m.type === "transcript") { heard.textContent = t("You: {text}", { text: m.text }); return; }
    if (m.type === "seen") { root.dataset.seen = m.text; return; }
    if (m.type === "text_delta") { reply.textContent += m.text; return; }
    if (m.type === "step" && m.step.type === "text") { reply.textContent = m.step.text; return; }
    if (m.type === "audio") { enqueue(m.base64); return; }
    if (m.type === "reply") {
      conversationId = m.conversation_id;
      reply.textContent = m.text;
      pending = m.pending_actions || [];
      confirmBox.hidden = pending.length === 0;
      return;
    }
    if (m.type === "done") {
      turnDone = true;
      root.dataset.via = "stream";
      root.dataset.turns = String(Number(root.dataset.turns || 0) + 1);
      refreshActivity();
      if (!playing) playNext();
      return;
    }
    if (m.type === "error") {
      turnDone = true;
      stopListening(m.message);
      if (continuous.checked && m.code === "no_speech") startListening();
    }
  }

  function enqueue(base64) {
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    queue.push(URL.createObjectURL(new Blob([bytes], { type: "audio/wav" })));
    if (!playing) playNext();
  }

  function playNext() {
    const url = queue.shift();
    if (!url) {
      playing = false;
      if (turnDone && state !== "listening") { root.dataset.spoken = "1"; afterReply(); }
      return;
    }
    playing = true;
    setState("speaking");
    player = new Audio(url);
    player.onended = () => { URL.revokeObjectURL(url); playNext(); };
    player.play().catch(() => { queue = []; playing = false; afterReply(); }); // autoplay refused: it is on screen
  }

  function stopPlayback() {
    if (player) player.pause();
    queue = [];
    playing = false;
  }

  function concat(frames) {
    const out = new Float32Array(frames.reduce((n, f) => n + f.length, 0));
    let at = 0;
    for (const f of frames) { out.set(f, at); at += f.length; }
    return out;
  }

  function downsample(samples, rate, target) {
    if (rate === target) return samples;
    const ratio = rate / target, out = new Float32Array(Math.floor(samples.length / ratio));
    for (let i = 0; i < out.length; i++) {
      const start = Math.floor(i * ratio), end = Math.min(samples.length, Math.floor((i + 1) * ratio));
      let sum = 0;
      for (let j = start; j < end; j++) sum += samples[j];
      out[i] = sum / Math.max(1, end - start); // averaging: a cheap low-pass before dropping samples
    }
    return out;
  }

  function encodeWav(samples, rate) {
    const buffer = new ArrayBuffer(44 + samples.length * 2), view = new DataView(buffer);
    const text = (at, s) => { for (let i = 0; i < s.length; i++) view.setUint8(at + i, s.charCodeAt(i)); };
    text(0, "RIFF"); view.setUint32(4, 36 + samples.length * 2, true); text(8, "WAVE");
    text(12, "fmt "); view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
    view.setUint32(24, rate, true); view.setUint32(28, rate * 2, true); view.setUint16(32, 2, true);
    view.setUint16(34, 16, true); text(36, "data"); view.setUint32(40, samples.length * 2, true);
    for (let i = 0; i < samples.length; i++) {
      const s = Math.max(-1, Math.min(1, samples[i]));
      view.setInt16(44 + i * 2, s < 0 ? s * 0x8000 : s * 0x7fff, true);
    }
    return buffer;
  }

  async function cameraFrame() {
    if (!useCamera.checked || !video.videoWidth) return null;
    const canvas = document.createElement("canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.9));
    if (blob) {
      snapshot.src = URL.createObjectURL(blob);
      snapshot.hidden = false;
    }
    return blob;
  }

  async function send(form) {
    setState("thinking");
    if (conversationId) form.append("conversation_id", conversationId);
    const frame = await cameraFrame();
    if (frame) form.append("image", frame, "frame.jpg");
    let body;
    try {
      const response = await fetch("/api/voice/turns", {
        method: "POST", body: form, headers: { "Accept": "application/json", "X-CSRF-Token": csrf } });
      body = await response.json();
      if (!response.ok) {
        stopListening(body.error?.message || t("Something went wrong."));
        if (continuous.checked && body.error?.code === "no_speech") startListening();
        return;
      }
    } catch (err) {
      stopListening(t("The server did not answer: {error}", { error: err.message }));
      return;
    }
    conversationId = body.conversation_id;
    root.dataset.via = "post";
    heard.textContent = body.transcript ? t("You: {text}", { text: body.transcript }) : "";
    reply.textContent = body.reply.text;
    pending = body.reply.pending_actions || [];
    confirmBox.hidden = pending.length === 0;
    root.dataset.turns = String(Number(root.dataset.turns || 0) + 1);
    root.dataset.seen = body.seen ? body.seen.text : "";
    refreshActivity();
    if (body.audio) play(body.audio.base64); else afterReply();
  }

  function play(base64) {
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const url = URL.createObjectURL(new Blob([bytes], { type: "audio/wav" }));
    player = new Audio(url);
    setState("speaking");
    player.onended = () => { URL.revokeObjectURL(url); root.dataset.spoken = "1"; afterReply(); };
    player.play().catch(() => afterReply()); // autoplay refused: the answer is on screen
  }

  function afterReply() {
    setState("idle");
    if (continuous.checked) startListening();
    else if (wakeLock) { wakeLock.release().catch(() => {}); wakeLock = null; }
  }

  function sendText(text) {
    const form = new FormData();
    form.append("text", text);
    send(form);
  }

  async function refreshActivity() {
    const list = $("activity");
    try {
      const response = await fetch("/api/voice/activity", { headers: { "Accept": "application/json" } });
      if (!response.ok) return;
      const items = (await response.json()).items;
      list.replaceChildren(...items.map((a) => {
        const li = document.createElement("li");
        li.dataset.status = a.status;
        const status = document.createElement("b");
        status.textContent = a.status;
        li.append(status, " " + a.summary);
        if (a.result) {
          const result = document.createElement("div");
          result.className = "faint";
          result.textContent = a.result;
          li.append(result);
        }
        return li;
      }));
    } catch (_) { /* the list refreshes on the next turn */ }
  }

  // Tap: listen until a pause. Hold (over 400 ms): listen while held, send on release.
  talk.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    if (state === "listening") { finishTurn(); return; }
    if (state !== "idle" && state !== "speaking") return;
    pressTimer = setTimeout(() => { holding = true; }, 400);
    startListening();
  });
  talk.addEventListener("pointerup", () => {
    clearTimeout(pressTimer);
    if (holding) { holding = false; if (voiced) finishTurn(); else stopListening(); }
  });
  talk.addEventListener("keydown", (event) => {
    if (event.key === " " || event.key === "Enter") {
      event.preventDefault();
      if (state === "listening") finishTurn(); else startListening();
    }
  });

  $("confirm-yes").addEventListener("click", () => sendText("yes"));
  $("confirm-no").addEventListener("click", () => sendText("cancel"));
  $("typed-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("typed");
    if (input.value.trim()) { sendText(input.value.trim()); input.value = ""; }
  });

  useCamera.addEventListener("change", async () => {
    cameraBox.hidden = !useCamera.checked;
    if (useCamera.checked && !video.srcObject) {
      try {
        video.onloadedmetadata = () => { root.dataset.camera = "ready"; };
        video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
      } catch (err) {
        showError(t("The camera is not available: {error}", { error: err.message }));
        useCamera.checked = false;
        cameraBox.hidden = true;
      }
    }
  });

  $("keep-recordings").addEventListener("change", async (event) => {
    await fetch("/api/voice/settings", {
      method: "PUT", body: JSON.stringify({ keep_recordings: event.target.checked }),
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf } });
  });
})();
