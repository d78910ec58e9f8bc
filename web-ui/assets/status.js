// status.js: keeps the dock status page live. It subscribes to /api/v1/events, re-renders the
// slot tiles from each `status` snapshot and shows whether the page is live. It must never turn
// data into markup (nodes are built with createElement and textContent only: serials come from
// devices) and never use inline styles or handlers (the CSP forbids them).
// The tile markup mirrors `Tile` in src/pages/status.rs, the formatting src/pages/format.rs:
// change them together.
"use strict";

(() => {
  const EVENTS_URL = "/api/v1/events";
  // The server pings every 15 s; this long without a word means the connection is dead even if
  // the browser has not noticed (a phone that slept, a Wi-Fi hand-over).
  const SILENCE_LIMIT_MS = 40000;
  // When the browser gives up on a stream for good (an HTTP error rather than a drop).
  const RETRY_MS = 5000;

  const slotsEl = document.getElementById("slots");
  const liveEl = document.getElementById("live");
  const updatedEl = document.getElementById("updated");
  if (!slotsEl || !liveEl || !updatedEl || typeof EventSource === "undefined") {
    return;
  }

  // ---- formatting (same rules as src/pages/format.rs) ----

  const numberFormat = new Intl.NumberFormat("en-US");
  const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  const clockFormat = new Intl.DateTimeFormat(undefined, { timeStyle: "medium" });

  const count = (n) => numberFormat.format(n);
  const counted = (n, one, many) => count(n) + " " + (n === 1 ? one : many);

  function bytes(n) {
    if (n < 1000) {
      return n + " B";
    }
    const units = ["kB", "MB", "GB", "TB"];
    let unit = 0;
    let size = 1000;
    while (unit + 1 < units.length && Math.floor((n + size / 2) / size) >= 1000) {
      unit += 1;
      size *= 1000;
    }
    const tenths = Math.floor((n * 10 + size / 2) / size);
    if (tenths < 1000) {
      return Math.floor(tenths / 10) + "." + (tenths % 10) + " " + units[unit];
    }
    return Math.floor((n + size / 2) / size) + " " + units[unit];
  }

  function batteryText(soc, charging) {
    if (soc !== null) {
      return "Battery " + soc + "%" + (charging ? ", charging" : "");
    }
    return charging ? "Charging" : null;
  }

  function quarantineText(n) {
    return n === 1
      ? "1 damaged log kept on the dock for support; the wearable keeps its copy."
      : count(n) + " damaged logs kept on the dock for support; the wearable keeps its copies.";
  }

  // Shows an instant in the viewer's local time; the UTC text stays if the date is unusable.
  function localise(timeEl, format) {
    const date = new Date(timeEl.dateTime);
    if (!Number.isNaN(date.getTime())) {
      timeEl.textContent = format.format(date);
      timeEl.title = date.toISOString();
    }
  }

  function timeElement(epochMs, format) {
    const timeEl = document.createElement("time");
    const date = new Date(epochMs);
    if (Number.isNaN(date.getTime())) {
      timeEl.textContent = "unknown";
      return timeEl;
    }
    timeEl.dateTime = date.toISOString();
    localise(timeEl, format);
    return timeEl;
  }

  // ---- rendering ----

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function fact(list, label, value) {
    const row = el("div");
    const dd = el("dd");
    dd.append(value);
    row.append(el("dt", "", label), dd);
    list.append(row);
  }

  function bar(progress) {
    const wrap = el("div", "pull");
    const meter = el("progress");
    meter.setAttribute("aria-label", "Pull progress");
    const text = el("p", "pull-text");
    if (progress.total_bytes === 0) {
      text.textContent = bytes(progress.done_bytes) + " pulled";
    } else {
      const total = progress.total_bytes;
      const done = Math.min(progress.done_bytes, total);
      const percent = Math.floor((done * 100) / total);
      meter.max = total;
      meter.value = done;
      meter.textContent = percent + "%";
      text.textContent = bytes(done) + " of " + bytes(total) + " (" + percent + "%)";
    }
    wrap.append(meter, text);
    return wrap;
  }

  function tile(slot) {
    const li = el("li", "tile");
    li.dataset.state = slot.state;

    const head = el("div", "tile-head");
    head.append(el("h2", "", "Slot " + slot.slot), el("span", "state", slot.state_text));
    li.append(head);

    const serial = el("p", "serial");
    if (slot.serial === null) {
      serial.textContent = "No wearable";
    } else {
      serial.append("Wearable ", el("strong", "", slot.serial));
    }
    li.append(serial);
    // Who wears it: only in the snapshots of roles that see workers (the server leaves it out).
    if (slot.worker !== undefined && slot.worker !== null) {
      const worker = el("p", "worker");
      worker.append("Worn by ", el("strong", "", slot.worker));
      li.append(worker);
    }

    const battery = batteryText(slot.battery_soc, slot.charging);
    if (battery !== null) {
      li.append(el("p", "battery", battery));
    }
    if (slot.progress !== null) {
      li.append(bar(slot.progress));
    }
    if (slot.advice !== null) {
      const advice = el("p", "advice");
      advice.append(el("strong", "", "What to do:"), " " + slot.advice);
      li.append(advice);
    }
    if (slot.quarantined > 0) {
      li.append(el("p", "quarantine", quarantineText(slot.quarantined)));
    }

    const facts = el("dl", "facts");
    if (slot.segments_total > 0 || slot.bytes_pulled > 0) {
      fact(
        facts,
        "Pulled",
        count(slot.segments_pulled) + " of " + counted(slot.segments_total, "log", "logs") + ", " + bytes(slot.bytes_pulled),
      );
    }
    if (slot.serial !== null) {
      // Readings and alerts: only in the snapshots of roles that see workers.
      let stored = counted(slot.segments_stored, "log", "logs");
      if (slot.samples_stored !== undefined && slot.alerts_stored !== undefined) {
        stored += ", " + counted(slot.samples_stored, "reading", "readings") + ", " +
          counted(slot.alerts_stored, "alert", "alerts");
      }
      fact(facts, "Stored on dock", stored);
    }
    if (slot.last_docked_ms !== null) {
      fact(facts, "Last docked", timeElement(slot.last_docked_ms, dateTimeFormat));
    }
    if (facts.childElementCount > 0) {
      li.append(facts);
    }
    return li;
  }

  function render(snapshot) {
    const tiles = snapshot.slots.map(tile);
    if (tiles.length === 0) {
      tiles.push(el("li", "tile", "This dock reports no slots."));
    }
    slotsEl.replaceChildren(...tiles);
    updatedEl.replaceChildren(timeElement(snapshot.now_ms, clockFormat));
  }

  // ---- connection ----

  const LIVE_TEXT = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…" };

  // The page-wide attribute lets the stylesheet dim tiles that may be out of date.
  function setLive(state) {
    liveEl.dataset.live = state;
    liveEl.textContent = LIVE_TEXT[state];
    document.body.dataset.live = state;
  }

  let source = null;
  let retryTimer = 0;
  let lastHeard = Date.now();

  // Opens a fresh stream, closing any previous one, so there is never more than one.
  function connect() {
    clearTimeout(retryTimer);
    if (source !== null) {
      source.close();
    }
    const stream = new EventSource(EVENTS_URL);
    source = stream;
    lastHeard = Date.now();
    stream.addEventListener("status", (event) => {
      lastHeard = Date.now();
      let snapshot;
      try {
        snapshot = JSON.parse(event.data);
      } catch (_) {
        return;
      }
      render(snapshot);
      setLive("live");
    });
    stream.addEventListener("ping", () => {
      lastHeard = Date.now();
    });
    stream.addEventListener("error", () => {
      setLive("reconnecting");
      // CLOSED: the browser will not retry on its own (e.g. the dock answered with an error).
      if (stream.readyState === EventSource.CLOSED) {
        retryTimer = setTimeout(connect, RETRY_MS);
      }
    });
  }

  // The server-rendered times are UTC; show them in local time straight away.
  for (const timeEl of slotsEl.querySelectorAll("time[datetime]")) {
    localise(timeEl, dateTimeFormat);
  }
  for (const timeEl of updatedEl.querySelectorAll("time[datetime]")) {
    localise(timeEl, clockFormat);
  }

  setLive("connecting");
  connect();
  setInterval(() => {
    if (Date.now() - lastHeard > SILENCE_LIMIT_MS) {
      setLive("reconnecting");
      connect();
    }
  }, 10000);
})();
