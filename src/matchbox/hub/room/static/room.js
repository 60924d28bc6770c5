// The room view: reads api/progress every few seconds and redraws the grid. Every value is set
// with textContent (never as HTML): participants' names and exercise names cannot inject markup.
"use strict";

const body = document.body;
const api = body.dataset.api;
const prefix = body.dataset.prefix;
const refreshMs = 1000 * Number(body.dataset.refresh || 3);

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function ago(iso) {
  if (!iso) return "never";
  const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (seconds < 90) return `${Math.round(seconds)} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  return `${(seconds / 3600).toFixed(1)} h ago`;
}

function megabytes(bytes) {
  return bytes === null || bytes === undefined ? "–" : `${Math.round(bytes / 2 ** 20)} MB`;
}

function columns(data) {
  // [[assignment, [exercise, ...]], ...] in the order the service gives
  return Object.entries(data.assignments || {});
}

function header(data) {
  const thead = document.querySelector("#room thead");
  const top = element("tr");
  const bottom = element("tr");
  for (const name of ["Participant", "Why here", "Server", "Memory", "Last activity"]) {
    const th = element("th", name);
    th.rowSpan = 2;
    top.append(th);
  }
  for (const [assignment, exercises] of columns(data)) {
    const th = element("th", assignment, "assignment");
    th.colSpan = Math.max(1, exercises.length);
    top.append(th);
    for (const exercise of exercises) bottom.append(element("th", exercise.replace(/^test_/, ""), "exercise"));
    if (!exercises.length) bottom.append(element("th", "–"));
  }
  thead.replaceChildren(top, bottom);
}

function row(person, data) {
  const tr = element("tr", null, person.stuck ? "stuck" : "");
  tr.dataset.name = person.name;
  tr.append(element("td", person.name, "name"), element("td", person.reason, "reason"),
            element("td", person.server, `server ${person.server}`), element("td", megabytes(person.memory)),
            element("td", ago(person.last_activity)));
  for (const [assignment, exercises] of columns(data)) {
    const mine = (person.assignments || {})[assignment] || { exercises: {}, notebook_of: {} };
    for (const exercise of exercises) {
      const state = mine.exercises[exercise] || "unread";
      const td = element("td", null, `state ${state}`);
      td.dataset.exercise = exercise;
      td.title = `${person.name} · ${exercise}: ${state}`;
      const notebook = (mine.notebook_of || {})[exercise];
      if (notebook) {
        const link = element("a", state);
        link.href = `${prefix}participant/${encodeURIComponent(person.name)}/${notebook.split("/").map(encodeURIComponent).join("/")}#${encodeURIComponent(exercise)}`;
        td.append(link);
      } else {
        td.textContent = state;
      }
      tr.append(td);
    }
    if (!exercises.length) tr.append(element("td", "–"));
  }
  return tr;
}

async function refresh() {
  const problem = document.getElementById("problem");
  try {
    const response = await fetch(api, { credentials: "same-origin", headers: { Accept: "application/json", "X-XSRFToken": body.dataset.xsrf } });
    if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
    const data = await response.json();
    header(data);
    document.querySelector("#room tbody").replaceChildren(...data.participants.map((p) => row(p, data)));
    document.getElementById("updated").textContent =
      `${data.participants.length} participants · read ${ago(data.updated)} · refresh every ${refreshMs / 1000} s`;
    problem.hidden = true;
  } catch (error) {
    problem.textContent = `Could not read the room: ${error.message}. Retrying.`;
    problem.hidden = false;
  }
}

refresh();
setInterval(refresh, refreshMs);
