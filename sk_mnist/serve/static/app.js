// Draw a digit; the server normalises the PNG of the canvas and predicts it.
//
// While drawing, the canvas is sent at most every THROTTLE_MS, and at once at
// the end of each stroke. One request is in flight at a time; changes made
// meanwhile are sent when it returns, so the last answer is for the last
// drawing. pad.dataset.version counts changes to the drawing, and
// label.dataset.version names the change the answer shown is for.
"use strict";

(() => {
  const THROTTLE_MS = 150;
  const pad = document.getElementById("pad");
  const ctx = pad.getContext("2d");
  const label = document.getElementById("label");
  const confidence = document.getElementById("confidence");
  const seen = document.getElementById("seen").getContext("2d");
  const bars = document.getElementById("bars");
  const status = document.getElementById("status");
  const footer = document.getElementById("model");

  let version = 0;       // changes to the drawing so far
  let clearedAt = 0;     // the version the pad was last cleared at
  let inked = false;     // something is drawn
  let last = null;       // previous point of the stroke being drawn
  let timer = null;
  let inFlight = false;
  let sentVersion = -1;  // the version of the last request sent
  let classes = [];

  function resetPad() {
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, pad.width, pad.height);
    ctx.fillStyle = ctx.strokeStyle = "#000";
    ctx.lineWidth = pad.width / 14;
    ctx.lineCap = ctx.lineJoin = "round";
  }

  function point(event) {
    const box = pad.getBoundingClientRect();
    return {
      x: ((event.clientX - box.left) * pad.width) / box.width,
      y: ((event.clientY - box.top) * pad.height) / box.height,
    };
  }

  function changed() {
    inked = true;
    version += 1;
    pad.dataset.version = String(version);
  }

  pad.addEventListener("pointerdown", (event) => {
    if (event.pointerType === "mouse" && event.button !== 0) return;
    event.preventDefault();
    pad.setPointerCapture(event.pointerId);
    last = point(event);
    ctx.beginPath();
    ctx.arc(last.x, last.y, ctx.lineWidth / 2, 0, 2 * Math.PI);
    ctx.fill();
    changed();
    schedule(THROTTLE_MS);
  });

  pad.addEventListener("pointermove", (event) => {
    if (last === null) return;
    event.preventDefault();
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
    ctx.beginPath();
    ctx.moveTo(last.x, last.y);
    for (const each of events.length ? events : [event]) {
      last = point(each);
      ctx.lineTo(last.x, last.y);
    }
    ctx.stroke();
    changed();
    schedule(THROTTLE_MS);
  });

  function endStroke() {
    if (last === null) return;
    last = null;
    schedule(0);
  }
  pad.addEventListener("pointerup", endStroke);
  pad.addEventListener("pointercancel", endStroke);
  pad.addEventListener("lostpointercapture", endStroke);

  function schedule(delay) {
    if (delay === 0) {
      clearTimeout(timer);
      timer = null;
      send();
    } else if (timer === null) {
      timer = setTimeout(() => {
        timer = null;
        send();
      }, delay);
    }
  }

  function send() {
    if (!inked || inFlight || version === sentVersion) return;
    inFlight = true;
    const sent = (sentVersion = version);
    pad.toBlob((blob) => {
      const form = new FormData();
      form.append("file", blob, "drawing.png");
      fetch("predict", { method: "POST", body: form })
        .then((response) =>
          response.json().then((body) => {
            if (!response.ok) throw new Error(body.detail || response.statusText);
            if (sent > clearedAt) show(body.predictions[0], sent);
          })
        )
        .catch((error) => {
          if (sent > clearedAt) status.textContent = "Error: " + error.message;
        })
        .finally(() => {
          inFlight = false;
          send(); // whatever was drawn meanwhile
        });
    }, "image/png");
  }

  function show(prediction, sent) {
    const probabilities = prediction.probabilities;
    const top = probabilities.indexOf(Math.max(...probabilities));
    label.textContent = String(prediction.label);
    confidence.textContent = (100 * probabilities[top]).toFixed(1) + " % sure";
    drawSeen(prediction.image);
    setBars(probabilities, top);
    status.textContent = "";
    label.dataset.version = String(sent);
  }

  function drawSeen(grey) {
    const image = seen.createImageData(28, 28);
    for (let i = 0; i < 784; i += 1) {
      const level = grey ? grey[i] : 0;
      image.data.set([level, level, level, 255], 4 * i);
    }
    seen.putImageData(image, 0, 0);
  }

  function buildBars(names) {
    classes = names;
    bars.replaceChildren(
      ...names.map((name) => {
        const row = document.createElement("div");
        row.className = "bar";
        row.innerHTML =
          '<span class="name"></span><span class="track"><span class="fill">' +
          '</span></span><span class="value"></span>';
        row.querySelector(".name").textContent = String(name);
        return row;
      })
    );
    setBars(names.map(() => 0), -1);
  }

  function setBars(probabilities, top) {
    if (bars.children.length !== probabilities.length) {
      buildBars(probabilities.map((_, k) => classes[k] ?? k));
    }
    probabilities.forEach((p, k) => {
      const row = bars.children[k];
      row.classList.toggle("top", k === top);
      row.querySelector(".fill").style.width = (100 * p).toFixed(1) + "%";
      row.querySelector(".value").textContent = (100 * p).toFixed(1) + "%";
    });
  }

  document.getElementById("clear").addEventListener("click", () => {
    clearTimeout(timer);
    timer = null;
    resetPad();
    inked = false;
    version += 1;
    clearedAt = version;
    pad.dataset.version = label.dataset.version = String(version);
    label.textContent = "?";
    confidence.innerHTML = "&nbsp;";
    status.textContent = "";
    drawSeen(null);
    setBars(classes.map(() => 0), -1);
  });

  fetch("health")
    .then((response) => response.json())
    .then((health) => {
      buildBars(health.classes);
      footer.textContent =
        `Model ${health.model_version} (${health.model_type}, ` +
        `backend ${health.backend}), sk-mnist ${health.sk_mnist_version}`;
    })
    .catch((error) => {
      footer.textContent = "";
      status.textContent = "Cannot reach the model: " + error.message;
    });

  resetPad();
  drawSeen(null);
})();
