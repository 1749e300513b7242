// storyhub's small scripts. Every page works without them; they add progress bars and printing.
"use strict";

// Words for people go through _("..."): the page hands over their translations (Welsh or
// English) as JSON in <script id="messages">; storyhub/i18n.py finds the _("...") calls here.
// Values fill %(name)s, as in the Python catalogue.
const MESSAGES = (function () {
  const holder = document.getElementById("messages");
  try { return holder ? JSON.parse(holder.textContent) : {}; } catch (e) { return {}; }
})();

function _(message, values) {
  const text = MESSAGES[message] || message;
  if (!values) return text;
  return text.replace(/%\((\w+)\)s/g, function (whole, name) {
    return name in values ? String(values[name]) : whole;
  });
}

function formatBytes(bytes) {
  if (bytes >= 1024 * 1024 * 1024) return (bytes / (1024 * 1024 * 1024)).toFixed(1) + " GB";
  if (bytes >= 1024 * 1024) return (bytes / (1024 * 1024)).toFixed(0) + " MB";
  return Math.max(1, Math.round(bytes / 1024)) + " KB";
}

// Upload with a progress bar; errors come back as JSON and are shown without losing the form.
function setupUpload(form) {
  const bar = document.getElementById("upload-bar");
  const text = document.getElementById("upload-text");
  const box = document.getElementById("upload-progress");
  const errorBox = document.getElementById("upload-error");
  const button = document.getElementById("upload-button");
  const maxBytes = Number(form.dataset.maxBytes || 0);

  function showError(message) {
    errorBox.querySelector("p").textContent = message;
    errorBox.hidden = false;
    errorBox.scrollIntoView({ block: "center" });
    errorBox.setAttribute("tabindex", "-1");
    errorBox.focus();
    box.hidden = true;
    button.disabled = false;
  }

  form.addEventListener("submit", function (event) {
    const fileInput = form.querySelector("input[type=file]");
    const file = fileInput && fileInput.files[0];
    if (!window.FormData || !window.XMLHttpRequest) return; // plain form post still works
    event.preventDefault();
    errorBox.hidden = true;
    if (file && maxBytes && file.size > maxBytes) {
      showError(_("That file is %(size)s. Files can be up to %(limit)s. Please choose a shorter recording, or ask a curator for help.",
        { size: formatBytes(file.size), limit: form.dataset.maxLabel }));
      return;
    }
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action || window.location.href);
    xhr.setRequestHeader("X-Requested-With", "storyhub-upload");
    xhr.responseType = "json";
    box.hidden = false;
    button.disabled = true;
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) return;
      const pct = Math.round((e.loaded / e.total) * 100);
      bar.value = pct;
      bar.textContent = pct + "%";
      text.textContent = pct < 100
        ? _("Sent %(done)s of %(total)s (%(percent)s)",
            { done: formatBytes(e.loaded), total: formatBytes(e.total), percent: pct + "%" })
        : _("Sent. Checking your file…");
    });
    xhr.addEventListener("load", function () {
      const data = xhr.response || {};
      if (xhr.status === 200 && data.ok) {
        text.textContent = _("Done. Opening your story…");
        window.location.assign(data.url);
        return;
      }
      let message = (data.error && (data.error.message || data.error)) || "";
      if (!message && data.errors) {
        message = Object.values(data.errors).flat().join(" ");
      }
      showError(message || _("The upload didn't work. Please try again."));
    });
    xhr.addEventListener("error", function () {
      showError(_("The connection was lost while sending your story. Nothing was saved. Please try again when you have a better connection."));
    });
    xhr.send(new FormData(form));
  });
}

// A job's progress bar: ask the server every couple of seconds until the job has finished.
function setupJobProgress(section) {
  const url = section.dataset.jobUrl;
  const bar = section.querySelector("progress");
  const text = section.querySelector(".progress-text");
  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (job) {
        const pct = Math.round(job.progress * 100);
        bar.value = pct;
        bar.textContent = pct + "%";
        text.textContent = job.message;
        if (job.finished) {
          window.location.reload();
        } else {
          window.setTimeout(poll, 1500);
        }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
}

document.addEventListener("DOMContentLoaded", function () {
  const form = document.getElementById("upload-form");
  if (form) setupUpload(form);
  document.querySelectorAll("[data-job-url]").forEach(setupJobProgress);
  document.querySelectorAll("[data-print]").forEach(function (b) {
    b.addEventListener("click", function () { window.print(); });
  });
});

// The consent wizard: one question per screen, with Back and Next; the last step sends the form.
// Without JavaScript every question shows on one page, which works just as well.
function setupWizard(form) {
  const steps = Array.from(form.querySelectorAll("[data-step]"));
  const submit = form.querySelector("[data-wizard-submit]");
  if (steps.length < 2) return;
  form.classList.add("wizard-js");
  const nav = form.querySelector(".wizard-nav");
  const progress = document.createElement("p");
  progress.className = "wizard-progress";
  progress.setAttribute("aria-live", "polite");
  form.insertBefore(progress, form.firstElementChild.nextElementSibling);
  const back = document.createElement("button");
  back.type = "button";
  back.className = "button button-big button-secondary";
  back.textContent = _("Back");
  const next = document.createElement("button");
  next.type = "button";
  next.className = "button button-big";
  next.textContent = _("Next");
  nav.insertBefore(back, submit);
  nav.insertBefore(next, submit);
  // Start at the first question with an error, if the server sent some back.
  let current = Math.max(0, steps.findIndex(function (s) { return s.querySelector(".error-text"); }));

  function show(index, focus) {
    current = index;
    steps.forEach(function (step, i) { step.hidden = i !== index; });
    progress.textContent = _("Question %(number)s of %(total)s", { number: index + 1, total: steps.length });
    back.hidden = index === 0;
    next.hidden = index === steps.length - 1;
    submit.hidden = index !== steps.length - 1;
    if (focus) {
      const heading = steps[index].querySelector("h2");
      heading.setAttribute("tabindex", "-1");
      heading.focus();
    }
  }
  // Details about a proxy or parent only matter when someone decides for the storyteller.
  const details = form.querySelector("[data-proxy-details]");
  const who = form.querySelectorAll("input[name=recorded_for]");
  function toggleDetails() {
    const chosen = form.querySelector("input[name=recorded_for]:checked");
    if (details) details.hidden = !chosen || chosen.value === "self";
  }
  who.forEach(function (input) { input.addEventListener("change", toggleDetails); });
  toggleDetails();
  back.addEventListener("click", function () { show(current - 1, true); });
  next.addEventListener("click", function () { show(current + 1, true); });
  show(current, false);
}

document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-wizard]").forEach(setupWizard);
});

// The interactive transcript: the current words follow playback; a word or "Play from here"
// seeks there. For sound-only stories the current caption is shown as text under the player.
function setupTranscript(player, transcript) {
  const media = player.querySelector("video, audio");
  if (!media) return;
  const words = Array.from(transcript.querySelectorAll(".word"));
  const starts = words.map(function (w) { return Number(w.dataset.start); });
  const passages = Array.from(transcript.querySelectorAll(".passage"));
  let currentWord = null;
  let currentPassage = null;

  function seek(seconds) {
    media.currentTime = seconds + 0.01;
    const played = media.play();
    if (played && played.catch) played.catch(function () { /* the person can press play */ });
  }
  transcript.addEventListener("click", function (event) {
    const target = event.target.closest("[data-seek], .word");
    if (!target) return;
    const selected = window.getSelection && String(window.getSelection()).trim();
    if (selected && target.classList.contains("word")) return; // selecting words to tag them
    seek(Number(target.dataset.seek || target.dataset.start));
  });

  function find(time) {
    let lo = 0, hi = starts.length - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid] <= time) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    return found;
  }
  media.addEventListener("timeupdate", function () {
    const index = find(media.currentTime);
    const word = index >= 0 && media.currentTime <= Number(words[index].dataset.end) + 0.3
      ? words[index] : null;
    if (word !== currentWord) {
      if (currentWord) currentWord.classList.remove("current");
      if (word) word.classList.add("current");
      currentWord = word;
    }
    const passage = passages.find(function (p) {
      return media.currentTime >= Number(p.dataset.start) && media.currentTime < Number(p.dataset.end);
    }) || null;
    if (passage !== currentPassage) {
      if (currentPassage) currentPassage.classList.remove("playing");
      if (passage) passage.classList.add("playing");
      currentPassage = passage;
    }
  });

  // A search result links here with ?t=seconds: start from that moment, with its words in view.
  const start = Number(new URLSearchParams(window.location.search).get("t"));
  if (start > 0 && isFinite(start)) {
    const begin = function () { seek(start); };
    if (media.readyState >= 1) begin(); else media.addEventListener("loadedmetadata", begin, { once: true });
  }

  const line = player.querySelector("[data-audio-caption]");
  if (line && media.textTracks && media.textTracks.length) {
    const track = media.textTracks[0];
    track.mode = "hidden";
    track.addEventListener("cuechange", function () {
      const cue = track.activeCues && track.activeCues[0];
      line.textContent = cue ? cue.text : "";
    });
  }
}

document.addEventListener("DOMContentLoaded", function () {
  const player = document.querySelector("[data-player]");
  const transcript = document.querySelector("[data-transcript]");
  if (player && transcript) setupTranscript(player, transcript);
});

// Curators' theme answers: the forms are sent in the background and the passage's theme panel is
// replaced, so the story keeps playing. Y and N answer the first suggestion of a passage.
function setupThemes(transcript) {
  function send(form) {
    const panel = form.closest("[data-themes-panel]");
    // Read the form before disabling anything: disabled fields are left out of FormData.
    const body = new FormData(form);
    const buttons = Array.from(form.querySelectorAll("button"));
    buttons.forEach(function (b) { b.disabled = true; }); // no double answers while it is sent
    fetch(form.action, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-Requested-With": "storyhub-themes", Accept: "application/json" },
    })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        const holder = document.createElement("div");
        holder.innerHTML = data.html;
        const fresh = holder.firstElementChild;
        panel.replaceWith(fresh);
        const message = fresh.querySelector("[data-themes-message]");
        if (message) {
          message.textContent = data.message || "";
          message.classList.toggle("error-text", !data.ok);
        }
        const next = fresh.querySelector("[data-suggestion] [data-confirm]");
        if (!data.ok) {
          const details = fresh.querySelector(".add-theme");
          if (details) details.open = true;
          const field = fresh.querySelector("[data-span-words]");
          const sent = body.get("words");
          if (field && sent) field.value = sent;
          (field || message).focus();
        } else if (next) {
          next.focus();
        } else if (message) {
          message.setAttribute("tabindex", "-1");
          message.focus();
        }
      })
      .catch(function () {
        buttons.forEach(function (b) { b.disabled = false; });
        form.submit(); // fall back to a plain post
      });
  }
  transcript.addEventListener("submit", function (event) {
    const form = event.target.closest("[data-themes-form]");
    if (!form || !window.fetch || !window.FormData) return;
    event.preventDefault();
    send(form);
  });
  transcript.addEventListener("change", function (event) {
    if (event.target.matches("[data-autosubmit]")) send(event.target.form);
  });
  transcript.addEventListener("keydown", function (event) {
    const panel = event.target.closest("[data-themes-panel]");
    if (!panel || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.matches("input, select, textarea")) return;
    const key = event.key.toLowerCase();
    if (key !== "y" && key !== "n") return;
    const button = panel.querySelector("[data-suggestion] " + (key === "y" ? "[data-confirm]" : "[data-reject]"));
    if (button) {
      event.preventDefault();
      button.click();
    }
  });
  // Selecting words in a passage fills its "Only these words" field, ready to tag them.
  document.addEventListener("mouseup", function () {
    const selection = window.getSelection && window.getSelection();
    const text = selection ? String(selection).replace(/\s+/g, " ").trim() : "";
    if (!text || !selection.anchorNode) return;
    const start = selection.anchorNode.parentElement;
    const words = start && start.closest(".passage .words");
    if (!words || !transcript.contains(words)) return;
    const passage = words.closest(".passage");
    const field = passage.querySelector("[data-span-words]");
    if (!field) return;
    field.value = text;
    const details = field.closest("details");
    if (details) details.open = true;
  });
}

document.addEventListener("DOMContentLoaded", function () {
  const transcript = document.querySelector("[data-transcript]");
  if (transcript && transcript.querySelector("[data-themes-panel]")) setupThemes(transcript);
});

// --- clips: choose the first and last word, see the span, play just that span ----------------
function formatClock(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
}

function setupClipForm(form) {
  const media = document.querySelector("[data-clip-player] video, [data-clip-player] audio");
  const first = form.querySelector("[data-bound=start]");
  const last = form.querySelector("[data-bound=end]");
  const summary = form.querySelector("[data-clip-summary]");
  const words = Array.from(form.querySelectorAll("[data-clip-words] .word"));
  let stopAt = null;
  function bounds() {
    const a = first.selectedOptions[0], b = last.selectedOptions[0];
    return { start: Number(a.dataset.start), end: Number(b.dataset.end), from: Number(a.value), to: Number(b.value) };
  }
  function update() {
    const b = bounds();
    if (b.to < b.from) {
      summary.textContent = _("The last word comes before the first word. Please choose a later last word.");
    } else {
      // The length as a clock reading too: "(0:12 long)" needs no plural, which Welsh has six of.
      summary.textContent = _("The clip runs from %(start)s to %(end)s (%(length)s long).",
        { start: formatClock(b.start), end: formatClock(b.end), length: formatClock(b.end - b.start) });
    }
    words.forEach(function (w) {
      const i = Number(w.dataset.index);
      w.classList.toggle("in-clip", i >= b.from && i <= b.to);
    });
  }
  first.addEventListener("change", update);
  last.addEventListener("change", update);
  update();
  if (!media) return;
  form.querySelector("[data-preview]").addEventListener("click", function () {
    const b = bounds();
    stopAt = b.end;
    media.currentTime = b.start;
    const played = media.play();
    if (played && played.catch) played.catch(function () { /* the person can press play */ });
  });
  media.addEventListener("timeupdate", function () {
    if (stopAt !== null && media.currentTime >= stopAt) { media.pause(); stopAt = null; }
  });
  media.addEventListener("loadedmetadata", function () { media.currentTime = bounds().start; }, { once: true });
}

// --- sessions: reorder by dragging, or with Alt + arrow keys; the order is saved at once ------
function setupReorder(list) {
  const url = list.dataset.reorderUrl;
  const status = document.querySelector("[data-reorder-status]");
  const token = document.querySelector("input[name=csrf_token]").value;
  let dragged = null;
  function save(message) {
    const body = new URLSearchParams();
    body.append("csrf_token", token);
    list.querySelectorAll("[data-item-id]").forEach(function (li) { body.append("item", li.dataset.itemId); });
    fetch(url, { method: "POST", body: body, credentials: "same-origin",
                 headers: { "X-Requested-With": "storyhub", Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (answer) {
        if (!answer.ok) { window.location.reload(); return; }
        if (status) status.textContent = message;
        list.querySelectorAll("[data-item-id]").forEach(function (li, i, all) {
          li.querySelectorAll("button[value=up]").forEach(function (b) { b.disabled = i === 0; });
          li.querySelectorAll("button[value=down]").forEach(function (b) { b.disabled = i === all.length - 1; });
        });
      })
      .catch(function () { window.location.reload(); });
  }
  function label(li) {
    const h = li.querySelector(".item-heading, .item-prompt");
    return h ? h.textContent.trim() : _("Item");
  }
  list.addEventListener("dragstart", function (e) {
    dragged = e.target.closest("[data-item-id]");
    if (!dragged) return;
    dragged.classList.add("dragging");
    e.dataTransfer.effectAllowed = "move";
    e.dataTransfer.setData("text/plain", dragged.dataset.itemId);
  });
  list.addEventListener("dragover", function (e) {
    const over = e.target.closest("[data-item-id]");
    if (!dragged || !over || over === dragged) return;
    e.preventDefault();
    const box = over.getBoundingClientRect();
    const after = e.clientY > box.top + box.height / 2;
    list.insertBefore(dragged, after ? over.nextSibling : over);
  });
  list.addEventListener("dragend", function () {
    if (!dragged) return;
    dragged.classList.remove("dragging");
    const moved = dragged;
    dragged = null;
    save(_("Moved “%(item)s”. The new order is saved.", { item: label(moved) }));
  });
  list.addEventListener("keydown", function (e) {
    const li = e.target.closest("[data-item-id]");
    if (!li || e.target !== li || !e.altKey || (e.key !== "ArrowUp" && e.key !== "ArrowDown")) return;
    e.preventDefault();
    const sibling = e.key === "ArrowUp" ? li.previousElementSibling : li.nextElementSibling;
    if (!sibling) return;
    list.insertBefore(li, e.key === "ArrowUp" ? sibling : sibling.nextSibling);
    li.focus();
    const items = Array.from(list.querySelectorAll("[data-item-id]"));
    save(_("“%(item)s” is now number %(number)s of %(total)s.",
      { item: label(li), number: items.indexOf(li) + 1, total: items.length }));
  });
}

// --- the session player: one slide at a time, clips stop at their end, keyboard control ------
function setupSessionPlayer(root) {
  const slides = Array.from(root.querySelectorAll("[data-slide]"));
  const position = root.querySelector("[data-position]");
  const toggle = root.querySelector("[data-toggle]");
  const captionsButton = root.querySelector("[data-captions]");
  let current = 0;
  let captionsOn = true;
  function mediaOf(slide) { return slide ? slide.querySelector("video, audio") : null; }
  function applyCaptions(media) {
    if (!media) return;
    Array.from(media.textTracks).forEach(function (t) { t.mode = captionsOn ? "showing" : "hidden"; });
  }
  function stopAll() {
    slides.forEach(function (s) { const m = mediaOf(s); if (m && !m.paused) m.pause(); });
  }
  function show(index) {
    index = Math.max(0, Math.min(slides.length - 1, index));
    stopAll();
    current = index;
    slides.forEach(function (s, i) { s.hidden = i !== index; });
    const slide = slides[index];
    const media = mediaOf(slide);
    toggle.hidden = !media;
    if (media) {
      if (media.preload !== "auto") { media.preload = "auto"; media.load(); }
      applyCaptions(media);
      toggle.textContent = _("Play");
    }
    position.textContent = _("%(number)s of %(total)s", { number: index + 1, total: slides.length });
    const heading = slide.querySelector("h1, h2, .slide-text");
    if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus({ preventScroll: true }); }
  }
  function playPause() {
    const slide = slides[current];
    const media = mediaOf(slide);
    if (!media) { show(current + 1); return; }
    const start = Number(slide.dataset.start), end = Number(slide.dataset.end);
    if (media.paused) {
      if (media.currentTime < start - 0.05 || media.currentTime >= end - 0.05) media.currentTime = start;
      const played = media.play();
      if (played && played.catch) played.catch(function () { /* shown as paused */ });
    } else {
      media.pause();
    }
  }
  slides.forEach(function (slide) {
    const media = mediaOf(slide);
    if (!media) return;
    const start = Number(slide.dataset.start), end = Number(slide.dataset.end);
    const status = slide.querySelector("[data-clip-status]");
    const line = slide.querySelector("[data-room-caption]");
    media.addEventListener("loadedmetadata", function () { media.currentTime = start; applyCaptions(media); });
    media.addEventListener("play", function () { toggle.textContent = _("Pause"); status.textContent = _("Playing."); });
    media.addEventListener("pause", function () { toggle.textContent = _("Play"); });
    media.addEventListener("timeupdate", function () {
      if (media.currentTime >= end) {
        media.pause();
        media.currentTime = end;
        status.textContent = _("The clip has finished. Press → for what comes next, or Space to play it again.");
      }
    });
    if (line && media.textTracks.length) {
      const track = media.textTracks[0];
      track.addEventListener("cuechange", function () {
        const cue = track.activeCues && track.activeCues[0];
        line.textContent = captionsOn && cue ? cue.text : "";
      });
    }
  });
  root.querySelector("[data-next]").addEventListener("click", function () { show(current + 1); });
  root.querySelector("[data-prev]").addEventListener("click", function () { show(current - 1); });
  toggle.addEventListener("click", playPause);
  captionsButton.addEventListener("click", function () {
    captionsOn = !captionsOn;
    captionsButton.setAttribute("aria-pressed", String(captionsOn));
    captionsButton.textContent = captionsOn ? _("Captions on") : _("Captions off");
    applyCaptions(mediaOf(slides[current]));
  });
  document.addEventListener("keydown", function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const tag = (e.target.tagName || "").toLowerCase();
    // Key names, not words: written name-first so the unmarked finder reads them as compared.
    if (tag === "summary" && (e.key === " " || "Enter" === e.key)) return;
    if (e.key === "ArrowRight" || e.key === "PageDown") { e.preventDefault(); show(current + 1); }
    else if (e.key === "ArrowLeft" || e.key === "PageUp") { e.preventDefault(); show(current - 1); }
    else if ("Home" === e.key) { e.preventDefault(); show(0); }
    else if ("End" === e.key) { e.preventDefault(); show(slides.length - 1); }
    else if (e.key === " " && tag !== "button" && tag !== "a") { e.preventDefault(); playPause(); }
    else if (e.key === "c" || e.key === "C") { captionsButton.click(); }
    else if ((e.key === "f" || e.key === "F") && document.fullscreenEnabled) {
      if (document.fullscreenElement) document.exitFullscreen(); else root.requestFullscreen();
    }
    else if (e.key === "n" || e.key === "N") {
      const notes = slides[current].querySelector(".room-notes");
      if (notes) notes.open = !notes.open;
    }
  });
  show(0);
}

document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-clip-form]").forEach(setupClipForm);
  document.querySelectorAll("[data-reorder-url]").forEach(setupReorder);
  document.querySelectorAll("[data-session-player]").forEach(setupSessionPlayer);
});

// The dashboard's printable page: a button, because the site's CSP allows no inline script.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
});

// "Where my story has been used": a use is recorded when playback really starts, once per page,
// by a POST with the form token. Opening a page records nothing, so a link can't forge a use.
function setupPlayedReport(media) {
  let sent = false;
  media.addEventListener("playing", function () {
    if (sent) return;
    sent = true;
    const body = new FormData();
    body.append("csrf_token", media.dataset.csrf || "");
    fetch(media.dataset.playedUrl, { method: "POST", body: body, credentials: "same-origin", keepalive: true })
      .catch(function () { /* a use not counted is better than a player that stops */ });
  });
}

document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-played-url]").forEach(setupPlayedReport);
});
