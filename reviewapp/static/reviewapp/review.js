// Keyboard shortcuts of the review screen. They never fire while typing in a field
// (except Escape, and Ctrl+Enter to save). Accepting takes two keystrokes: a, then Enter or a.
(function () {
  "use strict";
  const form = document.getElementById("review-form");
  if (!form) return;
  const overlay = document.getElementById("shortcuts");
  let armed = null; // the action waiting for confirmation
  let armedKey = null; // the key that armed it: pressing it again confirms

  function typing(target) {
    return target && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
  }
  function submit(action) {
    const button = form.querySelector(`button[value="${action}"]`);
    if (button) button.click();
  }
  function arm(action, key) {
    disarm();
    armed = action;
    armedKey = key;
    const button = form.querySelector(`button[value="${action}"]`);
    if (button) button.classList.add("armed");
    document.getElementById("armed-hint").hidden = false;
  }
  function disarm() {
    armed = null;
    armedKey = null;
    form.querySelectorAll("button.armed").forEach((b) => b.classList.remove("armed"));
    document.getElementById("armed-hint").hidden = true;
  }
  function addTargetRow() {
    const total = form.querySelector("#id_targets-TOTAL_FORMS");
    const template = document.getElementById("target-empty");
    const index = parseInt(total.value, 10);
    const html = template.innerHTML.replace(/__prefix__/g, String(index));
    document.getElementById("target-rows").insertAdjacentHTML("beforeend", html);
    total.value = String(index + 1);
    const first = document.getElementById(`id_targets-${index}-indicator`);
    if (first) first.focus();
  }
  function focusFirst() {
    const field = form.querySelector("select, input:not([type=hidden]), textarea");
    if (field) field.focus();
  }

  document.getElementById("add-target").addEventListener("click", addTargetRow);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      disarm();
      if (overlay) overlay.hidden = true;
      if (typing(event.target)) event.target.blur();
      return;
    }
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      submit("save");
      return;
    }
    if (typing(event.target) || event.ctrlKey || event.metaKey || event.altKey) return;
    if (armed && (event.key === "Enter" || event.key === armedKey)) {
      event.preventDefault();
      const action = armed;
      disarm();
      submit(action);
      return;
    }
    const keys = {
      a: () => arm("accept", "a"),
      x: () => arm("not_a_clause", "x"),
      s: () => submit("save"),
      k: () => submit("skip"),
      n: () => document.getElementById("next-form").submit(),
      f: focusFirst,
      t: addTargetRow,
      "?": () => { if (overlay) overlay.hidden = !overlay.hidden; },
    };
    if (armed) disarm(); // any other key cancels a pending confirmation
    const handler = keys[event.key];
    if (handler) {
      event.preventDefault();
      handler();
    }
  });
})();
