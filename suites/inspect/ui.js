"use strict";
// hookproof listen's live page. Everything a sender sent (headers, body, and what the verdict
// read from them) is data: it is put into the page with createElement and textContent only.
(function () {
  const OUTCOMES = ["valid", "invalid", "unjudged", "malformed"];
  const SHOW_CHARS = 64 * 1024; // of a body's text shown before "Show all"
  const HEX_BYTES = 16 * 1024; // of a binary body shown as hex
  const $ = (id) => document.getElementById(id);
  const list = $("list"), empty = $("empty"), count = $("count"), state = $("state"), keepOut = $("keep");
  const tallies = [...document.querySelectorAll("b[data-n]")];
  const enc = new TextEncoder();

  const rows = new Map(); // seq → {el, o}, in arrival order: the first is the oldest
  const counts = { all: 0, valid: 0, invalid: 0, unjudged: 0, malformed: 0 };
  let keep = 1000, instance = "", maxSeq = 0, filter = "all", es = null, backoff = 500;

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  const str = (v) => (typeof v === "string" ? v : v === undefined || v === null ? "" : String(v));
  const pad = (n, w) => String(n).padStart(w || 2, "0");
  const validDate = (d) => d instanceof Date && !isNaN(d.getTime());
  function clock(d) {
    return validDate(d) ? pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()) + "." + pad(d.getMilliseconds(), 3) : "—";
  }
  function when(d) {
    return validDate(d) ? d.toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" }) + " " + clock(d) : "—";
  }
  function size(n) {
    if (n < 1024) return n + " B";
    if (n < 1024 * 1024) return (n / 1024).toFixed(n < 10240 ? 1 : 0) + " KB";
    return (n / 1048576).toFixed(2) + " MB";
  }
  const millis = (ms) => (typeof ms === "number" ? (ms < 10 ? ms.toFixed(1) : String(Math.round(ms))) + " ms" : "");
  function outcomeOf(v) {
    const o = v ? str(v.outcome) : "";
    return OUTCOMES.includes(o) ? o : "unjudged";
  }
  function headerOf(e, name) {
    const h = e.headers && typeof e.headers === "object" ? e.headers : {};
    for (const k of Object.keys(h)) {
      if (k.toLowerCase() === name) return str(Array.isArray(h[k]) ? h[k][0] : h[k]);
    }
    return "";
  }
  function bodyOf(e) {
    if (typeof e.body_base64 === "string" && e.body_base64 !== "") {
      let bin = "";
      try { bin = atob(e.body_base64); } catch (_) { /* not base64: shown as empty */ }
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      return { bytes, size: bytes.length };
    }
    const text = str(e.body);
    return { text, size: enc.encode(text).length };
  }

  // One delivery's row: a <details> whose summary is the line, its detail built when opened.
  function build(item) {
    const e = item.entry && typeof item.entry === "object" ? item.entry : {};
    const v = e.verdict && typeof e.verdict === "object" ? e.verdict : null;
    const f = e.forward && typeof e.forward === "object" ? e.forward : null;
    const o = outcomeOf(v), body = bodyOf(e);
    const d = el("details", "d o-" + o);
    d.dataset.seq = String(item.seq);
    const s = el("summary", "row");
    s.append(el("span", "c-chev"));
    const at = new Date(str(e.at));
    const t = el("span", "c-time mono", clock(at));
    if (validDate(at)) t.title = at.toISOString();
    s.append(t, el("span", "c-method mono", str(e.method) || "—"));
    const id = (v && str(v.id)) || headerOf(e, "webhook-id");
    const idc = el("span", "c-id mono" + (id ? "" : " none"), id || "no id");
    if (id) idc.title = id;
    const type = (v && str(v.type)) || "";
    const tc = el("span", "c-type" + (type ? "" : " none"), type || "no type");
    if (type) tc.title = type;
    s.append(idc, tc, el("span", "c-size", size(body.size)));
    const vc = el("span", "c-verdict");
    vc.append(el("span", "badge b-" + o, (v && str(v.outcome)) || "unjudged"));
    if (v && v.seen > 0) {
      const dup = el("span", "tag t-dup", v.seen > 1 ? "duplicate ×" + (v.seen + 1) : "duplicate");
      dup.title = "this delivery id arrived " + v.seen + " time(s) before";
      vc.append(dup);
    }
    if (v && str(v.retry)) vc.append(el("span", "tag", "retry"));
    const reason = (v && str(v.reason)) || (v ? "" : "not judged");
    const rc = el("span", "reason", reason);
    if (reason) rc.title = reason;
    vc.append(rc);
    s.append(vc, forwardCell(f));
    d.append(s);
    d.addEventListener("toggle", () => {
      if (d.open && !d.dataset.built) {
        d.dataset.built = "1";
        d.append(detail(item, e, v, f, body));
      }
    });
    return { el: d, o };
  }

  function forwardCell(f) {
    const c = el("span", "c-fwd");
    if (!f) {
      c.append(el("span", "none", "not forwarded"));
      return c;
    }
    const status = typeof f.status === "number" ? f.status : 0;
    if (status > 0) {
      c.append(el("span", "st " + (status < 300 ? "st-ok" : status < 400 ? "st-redir" : "st-bad"), status));
    } else {
      const x = el("span", "st st-bad", f.error ? "failed" : "no answer");
      if (f.error) x.title = str(f.error);
      c.append(x);
    }
    if (typeof f.ms === "number") c.append(el("span", "ms", millis(f.ms)));
    return c;
  }

  function section(title, content) {
    const s = el("section", "part");
    s.append(el("h4", null, title), content);
    return s;
  }
  function pairs(list) {
    const dl = el("dl", "kv");
    for (const [k, v] of list) {
      if (v === undefined || v === null || v === "") continue;
      dl.append(el("dt", null, k));
      const dd = el("dd");
      if (v instanceof Node) dd.append(v);
      else dd.textContent = String(v);
      dl.append(dd);
    }
    return dl;
  }

  function verdictPairs(v) {
    if (!v) return el("p", "muted", "Not judged.");
    const o = outcomeOf(v);
    const badge = el("span", "badge b-" + o, str(v.outcome) || "unjudged");
    let skew = "";
    if (typeof v.skew_s === "number") {
      skew = (v.skew_s >= 0 ? "+" : "") + v.skew_s.toFixed(1) + " s";
      if (typeof v.tolerance_s === "number" && v.tolerance_s > 0) skew += " (tolerance " + v.tolerance_s + " s)";
    }
    let seen = "";
    if (v.seen > 0) {
      seen = v.seen + (v.seen === 1 ? " time" : " times") + " before";
      if (v.first_at) seen += "; first at " + when(new Date(str(v.first_at)));
    }
    let problems = "";
    if (Array.isArray(v.problems) && v.problems.length > 0) {
      problems = el("ul", "problems");
      for (const p of v.problems) problems.append(el("li", null, str(p)));
    }
    return pairs([
      ["Outcome", badge], ["Reason", str(v.reason)], ["Scheme", str(v.scheme)], ["Delivery id", str(v.id)],
      ["Event type", str(v.type)], ["Signature", str(v.signature)], ["Clock skew", skew], ["Seen", seen],
      ["Retry", str(v.retry)], ["Problems", problems],
    ]);
  }

  function forwardPairs(f) {
    if (!f) return el("p", "muted", "Not forwarded.");
    return pairs([
      ["Status", f.status > 0 ? String(f.status) : "no answer"], ["Time", millis(f.ms)], ["Error", str(f.error)],
    ]);
  }

  function headersTable(h) {
    const names = h && typeof h === "object" ? Object.keys(h).sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase())) : [];
    if (names.length === 0) return el("p", "muted", "No headers.");
    const wrap = el("div", "scroll");
    const table = el("table", "headers");
    const tb = el("tbody");
    for (const n of names) {
      const vs = Array.isArray(h[n]) ? h[n] : [h[n]];
      for (const v of vs) {
        const tr = el("tr");
        tr.append(el("th", "mono", n), el("td", "mono", str(v)));
        tb.append(tr);
      }
    }
    table.append(tb);
    wrap.append(table);
    return wrap;
  }

  function hexdump(bytes, max) {
    const lines = [];
    const n = Math.min(bytes.length, max);
    for (let off = 0; off < n; off += 16) {
      let hex = "", asc = "";
      for (let i = 0; i < 16; i++) {
        if (off + i < n) {
          const b = bytes[off + i];
          hex += b.toString(16).padStart(2, "0") + (i === 7 ? "  " : " ");
          asc += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".";
        } else {
          hex += i === 7 ? "    " : "   ";
        }
      }
      lines.push(off.toString(16).padStart(8, "0") + "  " + hex + " |" + asc + "|");
    }
    return lines.join("\n");
  }

  function bodyView(body) {
    const box = el("div", "body");
    const bar = el("div", "bodybar");
    const fmt = el("span", "fmt");
    const pre = el("pre", "mono");
    const note = el("div", "note");
    box.append(bar, pre, note);
    bar.append(fmt);
    if (body.bytes) {
      fmt.textContent = "binary (not UTF-8) · " + size(body.size) + " · hex";
      pre.textContent = hexdump(body.bytes, HEX_BYTES);
      if (body.bytes.length > HEX_BYTES) note.textContent = "First " + size(HEX_BYTES) + " of " + size(body.size) + " shown.";
      return box;
    }
    if (body.size === 0) {
      fmt.textContent = "empty";
      pre.textContent = "(no body)";
      pre.classList.add("muted");
      return box;
    }
    let pretty = null;
    try { pretty = JSON.stringify(JSON.parse(body.text), null, 2); } catch (_) { /* not JSON: shown as text */ }
    const show = (s) => {
      note.replaceChildren();
      if (s.length <= SHOW_CHARS) {
        pre.textContent = s;
        return;
      }
      pre.textContent = s.slice(0, SHOW_CHARS);
      note.append("First " + SHOW_CHARS.toLocaleString() + " of " + s.length.toLocaleString() + " characters shown. ");
      const all = el("button", "link", "Show all");
      all.type = "button";
      all.addEventListener("click", () => { pre.textContent = s; note.replaceChildren(); });
      note.append(all);
    };
    if (pretty === null) {
      fmt.textContent = "text · " + size(body.size);
      show(body.text);
      return box;
    }
    fmt.textContent = "JSON · " + size(body.size);
    const seg = el("span", "seg");
    const bp = el("button", "on", "Pretty"), br = el("button", null, "Raw");
    bp.type = br.type = "button";
    bp.addEventListener("click", () => { bp.className = "on"; br.className = ""; show(pretty); });
    br.addEventListener("click", () => { br.className = "on"; bp.className = ""; show(body.text); });
    seg.append(bp, br);
    bar.append(seg);
    show(pretty);
    return box;
  }

  function detail(item, e, v, f, body) {
    const box = el("div", "detail");
    const left = el("div", "col"), right = el("div", "col main");
    left.append(section("Verdict", verdictPairs(v)));
    left.append(section("Forward", forwardPairs(f)));
    const at = new Date(str(e.at));
    left.append(section("Request", pairs([
      ["Received", validDate(at) ? when(at) : ""], ["Method", str(e.method)], ["Path", str(e.path)],
      ["From", str(e.remote)], ["Number", "#" + item.seq],
    ])));
    right.append(section("Headers", headersTable(e.headers)));
    right.append(section("Body", bodyView(body)));
    box.append(left, right);
    return box;
  }

  function add(item) {
    if (!item || typeof item.seq !== "number" || item.seq <= maxSeq) return;
    maxSeq = item.seq;
    const r = build(item);
    rows.set(item.seq, r);
    list.prepend(r.el);
    counts.all++;
    counts[r.o]++;
    while (rows.size > keep) {
      const [seq, old] = rows.entries().next().value;
      old.el.remove();
      rows.delete(seq);
      counts.all--;
      counts[old.o]--;
    }
  }

  function clear() {
    list.replaceChildren();
    rows.clear();
    for (const k of Object.keys(counts)) counts[k] = 0;
    maxSeq = 0;
  }

  function refresh() {
    for (const b of tallies) b.textContent = String(counts[b.dataset.n] || 0);
    const shown = counts[filter] || 0;
    const noun = (n) => (n === 1 ? " delivery" : " deliveries");
    count.textContent = filter === "all" ? counts.all + noun(counts.all) : shown + " of " + counts.all + noun(counts.all) + " shown";
    if (counts.all === 0) {
      empty.hidden = false;
      empty.replaceChildren("Waiting for deliveries… Point your webhook sender at the address ", el("b", null, "hookproof listen"), " printed.");
    } else if (shown === 0) {
      empty.hidden = false;
      empty.textContent = "No " + filter + " deliveries among the " + counts.all + " held.";
    } else {
      empty.hidden = true;
    }
  }

  const STATES = { connecting: "connecting…", live: "live", reconnecting: "reconnecting…", down: "disconnected · retrying" };
  function setState(s) {
    state.dataset.state = s;
    state.lastElementChild.textContent = STATES[s];
  }

  function connect() {
    if (es) es.close();
    es = new EventSource("events");
    es.addEventListener("hello", (ev) => {
      let h;
      try { h = JSON.parse(ev.data); } catch (_) { return; }
      if (instance && h.instance !== instance && h.resumed) {
        // listen restarted: its numbers are not ours; start over from its snapshot.
        instance = "";
        connect();
        return;
      }
      instance = str(h.instance);
      if (typeof h.keep === "number" && h.keep > 0) keep = h.keep;
      keepOut.textContent = keep.toLocaleString();
      if (!h.resumed) clear();
      backoff = 500;
      setState("live");
      refresh();
    });
    es.onmessage = (ev) => {
      let it;
      try { it = JSON.parse(ev.data); } catch (_) { return; }
      add(it);
      refresh();
    };
    es.onerror = () => {
      if (es.readyState === EventSource.CLOSED) {
        setState("down");
        setTimeout(connect, backoff);
        backoff = Math.min(backoff * 2, 15000);
      } else {
        setState("reconnecting");
      }
    };
  }

  $("filter").addEventListener("change", (ev) => {
    if (ev.target.name !== "verdict") return;
    filter = OUTCOMES.includes(ev.target.value) ? ev.target.value : "all";
    list.dataset.filter = filter;
    refresh();
  });
  refresh();
  connect();
})();
