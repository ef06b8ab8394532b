// The sandbox page: one phone per person, kept up to date by long-polling /api/state.
"use strict";

const ROLE_NAMES = { aspirant: "Aspirant", coach: "Coach", admin: "Admin", team_lead: "Team lead" };
const phones = new Map(); // key -> { root, chat, keyboard, signature, keyboardSignature, lastToast }
let version = "";
let latest = null;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "onclick") node.addEventListener("click", value);
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

async function post(path, body = {}) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(await response.text());
  return response.json();
}

// --- phones -----------------------------------------------------------------------------
function buildPhone(state) {
  const root = el("section", { class: "phone", "data-phone": state.key, dir: state.dir,
                               "aria-label": `${state.name}'s phone` });
  const head = el("div", { class: "phone-head", dir: "ltr" },
    el("div", { class: `avatar role-${state.role}`, text: state.name.slice(0, 1) }),
    el("div", { class: "who" },
      el("div", { class: "name", text: state.name }),
      el("div", { class: "what", text: `${ROLE_NAMES[state.role] || state.role} · ${state.language_name}` })));
  const actions = el("div", { class: "actions", dir: "ltr" });
  if (state.role === "aspirant") {
    actions.append(
      el("button", { type: "button", class: "open-invite", title: state.invite_link || "",
                     onclick: () => act(root, () => post(`/api/phones/${state.key}/invite`)) },
         "Open invite link"),
      el("button", { type: "button", class: "scan-checkin", hidden: true,
                     title: "Scan the check-in QR code shown at the job centre",
                     onclick: () => act(root, () => post(`/api/phones/${state.key}/checkin`)) },
         "Scan check-in QR"),
      el("button", { type: "button", class: "share-location",
                     title: "Share a location at the job centre, as if standing at its door",
                     onclick: () => act(root, () => post(`/api/phones/${state.key}/location`)) },
         "Share location"));
  }
  const chat = el("div", { class: "chat", role: "log" });
  const keyboard = el("div", { class: "keyboard" });
  const input = el("input", { type: "text", dir: "auto", placeholder: "Message", "aria-label": `Message from ${state.name}` });
  const compose = el("form", { class: "compose" }, input,
                     el("button", { type: "submit", title: "Send", text: "➤" }));
  compose.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    act(root, () => post(`/api/phones/${state.key}/text`, { text }));
  });
  const toast = el("div", { class: "toast", role: "status", hidden: true });
  root.append(head, actions, chat, keyboard, compose, toast);
  document.getElementById("phones").append(root);
  const phone = { root, chat, keyboard, toast, signature: "", keyboardSignature: "", lastToast: null };
  phones.set(state.key, phone);
  return phone;
}

async function act(root, action) {
  root.classList.add("busy");
  try {
    await action();
  } catch (error) {
    showToast(phones.get(root.dataset.phone), { text: String(error.message || error), alert: true });
  } finally {
    root.classList.remove("busy");
  }
}

function renderPhone(state) {
  const phone = phones.get(state.key) || buildPhone(state);
  const invite = phone.root.querySelector(".open-invite");
  if (invite) invite.disabled = !state.invite_link;
  const scan = phone.root.querySelector(".scan-checkin");
  if (scan) scan.hidden = !(latest && latest.checkin);

  const signature = JSON.stringify(state.messages);
  if (signature !== phone.signature) {
    phone.signature = signature;
    // A separator where the day changes, as in Telegram: time travel stays readable.
    let day = null;
    phone.chat.replaceChildren(...state.messages.flatMap((m) => {
      const parts = m.day !== day ? [el("div", { class: "day", dir: "ltr" }, el("span", { text: m.day }))] : [];
      day = m.day;
      return [...parts, renderMessage(state, m)];
    }));
    if (!state.messages.length) {
      phone.chat.append(el("div", { class: "empty", dir: "ltr",
        text: state.role === "aspirant" ? "No messages yet. Open the invite link to start."
                                        : "No messages yet. Type /help." }));
    }
    phone.chat.scrollTop = phone.chat.scrollHeight;
  }
  const keyboardSignature = JSON.stringify(state.keyboard);
  if (keyboardSignature !== phone.keyboardSignature) {
    phone.keyboardSignature = keyboardSignature;
    phone.keyboard.replaceChildren(...(state.keyboard || []).map((row) =>
      el("div", { class: "key-row" }, ...row.map((button) => replyKey(state, button)))));
    phone.chat.scrollTop = phone.chat.scrollHeight;
  }
  const toasts = state.toasts || [];
  const newest = toasts.length ? toasts[toasts.length - 1].n : -1;
  if (phone.lastToast === null) phone.lastToast = newest; // no old toasts after a reload
  for (const toast of toasts) {
    if (toast.n > phone.lastToast) showToast(phone, toast);
  }
  phone.lastToast = Math.max(phone.lastToast, newest);
}

function replyKey(state, button) {
  const text = typeof button === "string" ? button : button.text;
  const onclick = () => {
    if (button.request_location) {
      return act(phones.get(state.key).root, () => post(`/api/phones/${state.key}/location`));
    }
    return act(phones.get(state.key).root, () => post(`/api/phones/${state.key}/text`, { text }));
  };
  return el("button", { type: "button", class: "reply-key", dir: "auto", onclick }, text);
}

function renderMessage(state, m) {
  const bubble = el("div", { class: "bubble" });
  if (m.photo) {
    bubble.append(el("a", { href: `/files/${m.photo}`, target: "_blank" },
                     el("img", { class: "photo", src: `/files/${m.photo}`, alt: m.caption || "image" })));
  }
  if (m.document) {
    const size = m.document.file_size ? ` · ${Math.max(1, Math.round(m.document.file_size / 1024))} KB` : "";
    bubble.append(el("a", { class: "document", href: `/files/${m.document.file_id}`,
                            download: m.document.file_name || "file", dir: "ltr" },
      el("span", { class: "doc-icon", text: "📄" }),
      el("span", { class: "doc-name", text: m.document.file_name || "file" }),
      el("span", { class: "doc-size", text: size })));
  }
  if (m.location) {
    const { latitude, longitude } = m.location;
    const href = `https://www.openstreetmap.org/?mlat=${latitude}&mlon=${longitude}#map=17/${latitude}/${longitude}`;
    const card = el("a", { class: "location", href, target: "_blank", rel: "noopener", dir: "ltr" },
                    el("span", { text: `📍 ${latitude.toFixed(5)}, ${longitude.toFixed(5)}` }));
    if (m.venue) {
      card.prepend(el("span", { class: "venue-title", dir: "auto", text: m.venue.title }),
                   el("span", { class: "venue-address", dir: "auto", text: m.venue.address }));
    }
    bubble.append(card);
  }
  const text = m.text ?? m.caption;
  if (text) bubble.append(el("div", { class: "text", dir: "auto" }, ...linked(text)));
  bubble.append(el("div", { class: "meta", dir: "ltr", text: `${m.edited ? "edited " : ""}${m.time}` }));

  const row = el("div", { class: `row ${m.bot ? "in" : "out"}`, "data-message-id": m.id }, bubble);
  const rows = (m.reply_markup && m.reply_markup.inline_keyboard) || [];
  if (rows.length) {
    const buttons = el("div", { class: "inline-keyboard" });
    for (const buttonRow of rows) {
      buttons.append(el("div", { class: "inline-row" }, ...buttonRow.map((b) => inlineButton(state, m, b))));
    }
    row.append(buttons);
  }
  return row;
}

// Web addresses in a message open in a new tab, as Telegram makes them links.
const URL_PATTERN = /https?:\/\/[^\s]+/g;

function linked(text) {
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    parts.push(document.createTextNode(text.slice(last, match.index)));
    parts.push(el("a", { href: match[0], target: "_blank", rel: "noopener", dir: "ltr",
                         text: match[0] }));
    last = match.index + match[0].length;
  }
  parts.push(document.createTextNode(text.slice(last)));
  return parts;
}

function inlineButton(state, message, button) {
  if (button.url) {
    return el("a", { class: "inline", href: button.url, target: "_blank", rel: "noopener", dir: "auto",
                     title: button.text },
              `${button.text} ↗`);
  }
  return el("button", {
    type: "button", class: "inline", dir: "auto", title: button.text,
    onclick: () => act(phones.get(state.key).root, () => post(`/api/phones/${state.key}/press`,
      { message_id: message.id, data: button.callback_data })),
  }, button.text);
}

function showToast(phone, toast) {
  if (!phone || !toast.text) return;
  phone.toast.replaceChildren(el("div", { class: "toast-text", dir: "auto", text: toast.text }));
  phone.toast.classList.toggle("alert", toast.alert);
  if (toast.alert) {
    phone.toast.append(el("button", { type: "button", text: "OK",
                                      onclick: () => { phone.toast.hidden = true; } }));
  } else {
    clearTimeout(phone.toastTimer);
    phone.toastTimer = setTimeout(() => { phone.toast.hidden = true; }, 3000);
  }
  phone.toast.hidden = false;
}

// --- the whole page ------------------------------------------------------------------------
function render(state) {
  latest = state;
  version = state.version;
  document.getElementById("now").textContent = state.now.label;
  document.getElementById("now").setAttribute("datetime", state.now.iso);
  document.getElementById("zone").textContent = `(${state.zone})`;
  const consoleLink = document.getElementById("console-link");
  consoleLink.hidden = !state.console_url;
  if (state.console_url) consoleLink.href = state.console_url;
  const checkin = document.getElementById("checkin");
  checkin.hidden = !state.checkin;
  if (state.checkin) {
    document.getElementById("centre-name").textContent = state.centre.name;
    document.getElementById("checkin-code").textContent = state.checkin.code || "–";
  }
  for (const phone of state.phones) renderPhone(phone);
}

async function follow() {
  let failures = 0;
  for (;;) {
    try {
      const response = await fetch(`/api/state?since=${encodeURIComponent(version)}`);
      if (!response.ok) throw new Error(response.statusText);
      render(await response.json());
      failures = 0;
      document.getElementById("offline").hidden = true;
    } catch (error) {
      failures += 1;
      if (failures > 2) document.getElementById("offline").hidden = false;
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }
}

for (const button of document.querySelectorAll("[data-move]")) {
  button.addEventListener("click", async () => {
    const all = document.querySelectorAll("[data-move]");
    all.forEach((b) => { b.disabled = true; });
    document.getElementById("moving").hidden = false;
    try {
      render(await post("/api/time", { move: button.dataset.move }));
    } finally {
      all.forEach((b) => { b.disabled = false; });
      document.getElementById("moving").hidden = true;
    }
  });
}

follow();
