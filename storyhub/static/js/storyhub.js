// storyhub's small scripts. Every page works without them; they add progress bars and printing.
"use strict";

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
      showError("That file is " + formatBytes(file.size) + ". Files can be up to " +
        form.dataset.maxLabel + ". Please choose a shorter recording, or ask a curator for help.");
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
        ? "Sent " + formatBytes(e.loaded) + " of " + formatBytes(e.total) + " (" + pct + "%)"
        : "Sent. Checking your file…";
    });
    xhr.addEventListener("load", function () {
      const data = xhr.response || {};
      if (xhr.status === 200 && data.ok) {
        text.textContent = "Done. Opening your story…";
        window.location.assign(data.url);
        return;
      }
      let message = (data.error && (data.error.message || data.error)) || "";
      if (!message && data.errors) {
        message = Object.values(data.errors).flat().join(" ");
      }
      showError(message || "The upload didn't work. Please try again.");
    });
    xhr.addEventListener("error", function () {
      showError("The connection was lost while sending your story. Nothing was saved. " +
        "Please try again when you have a better connection.");
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
  back.textContent = "Back";
  const next = document.createElement("button");
  next.type = "button";
  next.className = "button button-big";
  next.textContent = "Next";
  nav.insertBefore(back, submit);
  nav.insertBefore(next, submit);
  // Start at the first question with an error, if the server sent some back.
  let current = Math.max(0, steps.findIndex(function (s) { return s.querySelector(".error-text"); }));

  function show(index, focus) {
    current = index;
    steps.forEach(function (step, i) { step.hidden = i !== index; });
    progress.textContent = "Question " + (index + 1) + " of " + steps.length;
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
