// The body of a gr.HTML js_on_load (ui/client_scrub.py): `element`, `props` and `watch` are Gradio's.
// It draws one scrub view from the frames payload in `props.value` (a JSON string the server sent once)
// and redraws it, in the browser only, whenever the slider it follows moves: the slider's js-only
// event calls `window.dxScrub.set(viewId, value)`. Kinds of payload:
//   "mix":    frame = (1 - a) * x + a * noise                          (x, noise in [0, 1]; a in [0, 1])
//   "ddpm":   frame = sqrt(alpha_bar[t]) * x0 + sqrt(1 - alpha_bar[t]) * noise   (t in 0..T-1)
//   "frames": a finished run's kept steps, pre-rendered PNGs (data URLs) and a caption per step; such a
//             view draws nothing itself: a slider's js-only event returns `window.dxScrub.frame(viewId,
//             value)`, [image, ..., caption], straight into the section's own gr.Image and gr.Markdown
// A frame is drawn into a canvas at its native size (CSS enlarges it with crisp pixels), bytes rounded as
// the core's `to_image` rounds them: floor(clamp((v - low) / (high - low), 0, 1) * 255 + 0.5).
const registry = (window.dxScrub = window.dxScrub || {
    views: {},
    set(id, value) {
        const view = this.views[id];
        if (view) view.set(value);
    },
});
const viewId = props.view_id;
const state = {payload: null, value: props.start, arrays: {}, drawn: 0, dirty: false, watched: null};

function decode(text, kind) {
    const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
    return kind === "u8" ? bytes : new Float32Array(bytes.buffer);
}

function lang() {
    return document.documentElement.dataset.dxLang === "en" ? "en" : "zh";
}

// Python's "{name:.2f}" / "{name:.4g}" / "{name}" placeholders, filled from `values`.
function format(template, values) {
    return template.replace(/\{(\w+)(?::\.(\d+)([fg]))?\}/g, (_, name, digits, kind) => {
        const v = values[name];
        if (typeof v !== "number" || !kind) return String(v);
        const p = Number(digits);
        if (kind === "f") return v.toFixed(p);
        if (v === 0 || !isFinite(v)) return String(v);
        const exponent = Math.floor(Math.log10(Math.abs(v)));
        if (exponent < -4 || exponent >= Math.max(p, 1)) {
            const [mantissa, power] = v.toExponential(Math.max(p, 1) - 1).split("e");
            const sign = power[0] === "-" ? "-" : "+";
            const digitsOf = power.replace(/^[-+]/, "").padStart(2, "0");
            return mantissa.replace(/\.?0+$/, "") + "e" + sign + digitsOf;
        }
        return String(Number(v.toPrecision(Math.max(p, 1))));
    });
}

function root() {
    let box = element.querySelector(".dx-scrub");
    if (!box) {
        box = document.createElement("div");
        box.className = "dx-scrub";
        box.innerHTML =
            '<div class="dx-scrub-caption dx-single-label"></div>' +
            '<canvas class="dx-single"></canvas>' +
            '<div class="dx-formula"></div>' +
            '<svg class="dx-chart" viewBox="0 0 420 230" preserveAspectRatio="xMidYMid meet"></svg>' +
            '<div class="dx-scrub-caption dx-row-label"></div>' +
            '<canvas class="dx-row"></canvas>';
        (element.querySelector(".dx-scrub-host") || element).appendChild(box);
    }
    return box;
}

// Fill `out` (Float32Array of C*H*W) with image `index` of the batch at `value`; return it.
function compute(payload, index, value, out) {
    const size = payload.shape[1] * payload.shape[2] * payload.shape[3];
    const a = state.arrays;
    const xOffset = (a.x.length === size ? 0 : index) * size, nOffset = index * size;
    let keep, mix;
    if (payload.kind === "mix") {
        keep = 1 - value; // 1. the kept fraction of the input
        mix = value; //      2. the noise's fraction
    } else {
        const alphaBar = a.alpha_bar[value]; // 1. the noise level at t, the scheduler's own float32 table
        keep = Math.sqrt(alphaBar); //          2. sqrt(alpha_bar_t) scales x0
        mix = Math.sqrt(1 - alphaBar); //       3. sqrt(1 - alpha_bar_t) scales the noise
    }
    const x = a.x, noise = a.noise, scale = payload.x_scale || 1, shift = payload.x_shift || 0;
    for (let i = 0; i < size; i++) out[i] = keep * (x[xOffset + i] * scale + shift) + mix * noise[nOffset + i];
    return out;
}

// Put one (C, H, W) frame into `ctx` at (left, top), mapped from payload.range to 0..255.
function paint(ctx, payload, frame, left, top) {
    const [, channels, height, width] = payload.shape;
    const [low, high] = payload.range;
    const image = ctx.createImageData(width, height);
    const pixels = image.data, plane = height * width;
    for (let p = 0; p < plane; p++) {
        for (let c = 0; c < 3; c++) {
            const v = frame[(channels === 1 ? 0 : c) * plane + p];
            const unit = Math.min(Math.max((v - low) / (high - low), 0), 1);
            pixels[4 * p + c] = Math.floor(unit * 255 + 0.5);
        }
        pixels[4 * p + 3] = 255;
    }
    ctx.putImageData(image, left, top);
}

function drawImages(box, payload) {
    const [, channels, height, width] = payload.shape;
    const frame = new Float32Array(channels * height * width);
    const single = box.querySelector(".dx-single");
    if (single.width !== width || single.height !== height) [single.width, single.height] = [width, height];
    compute(payload, 0, state.value, frame);
    paint(single.getContext("2d"), payload, frame, 0, 0);
    let low = Infinity, high = -Infinity, sum = 0, squares = 0, count = 0;
    const row = box.querySelector(".dx-row");
    const shown = payload.noise_images, pad = 2;
    row.hidden = shown < 2;
    const rowWidth = shown * (width + pad) + pad, rowHeight = height + 2 * pad;
    if (row.width !== rowWidth || row.height !== rowHeight) [row.width, row.height] = [rowWidth, rowHeight];
    const rowCtx = row.getContext("2d");
    if (shown >= 2) {
        rowCtx.fillStyle = "rgb(128,128,128)"; // make_grid's pad_value 0.5
        rowCtx.fillRect(0, 0, rowWidth, rowHeight);
    }
    for (let index = 0; index < shown; index++) {
        if (index > 0 || shown >= 2) compute(payload, index, state.value, frame);
        if (shown >= 2) paint(rowCtx, payload, frame, pad + index * (width + pad), pad);
        for (let i = 0; i < frame.length; i++) {
            const v = frame[i];
            if (v < low) low = v;
            if (v > high) high = v;
            sum += v;
            squares += v * v;
        }
        count += frame.length;
    }
    const mean = sum / count;
    const std = Math.sqrt(Math.max(squares - count * mean * mean, 0) / Math.max(count - 1, 1));
    return {low, high, mean, std};
}

function formulaValues(payload, stats) {
    if (payload.kind === "mix") {
        const a = state.value;
        return {a, keep: 1 - a, keep_pct: (1 - a) * 100, a_pct: a * 100, low: stats.low, high: stats.high};
    }
    const t = state.value, ab = state.arrays.alpha_bar[t];
    return {t, ab, s: Math.sqrt(ab), n: Math.sqrt(1 - ab), var: 1 - ab, snr: ab / Math.max(1 - ab, 1e-12),
            mean: stats.mean, std: stats.std};
}

function chartCurves(chart, words, ab, X, Y, line, left, right, top, bottom, last) {
    const step = Math.max(1, Math.floor(ab.length / 400));
    const signal = [], noise = [];
    for (let i = 0; i < ab.length; i += step) {
        signal.push(Math.sqrt(ab[i]));
        noise.push(Math.sqrt(1 - ab[i]));
    }
    const scaleTo = (values) => (values.length > 1 ? (last / (values.length - 1)) : 1);
    const parts = [];
    for (const other of chart.others) {
        const every = scaleTo(other.signal);
        for (const [values, dash] of [[other.signal, ""], [other.noise, "2 3"]]) {
            parts.push(`<polyline points="${line(values, every)}" fill="none" stroke="#9ca3af" stroke-width="1" ` +
                       `stroke-dasharray="${dash}" opacity="0.6"/>`);
        }
    }
    const every = scaleTo(signal);
    parts.push(`<polyline points="${line(signal, every)}" fill="none" stroke="#2563eb" stroke-width="3"/>`);
    parts.push(`<polyline points="${line(noise, every)}" fill="none" stroke="#dc2626" stroke-width="3"/>`);
    for (const v of [0, 0.5, 1]) {
        parts.push(`<line x1="${left}" x2="${right}" y1="${Y(v)}" y2="${Y(v)}" stroke="#e5e7eb"/>` +
                   `<text x="${left - 6}" y="${Y(v) + 4}" text-anchor="end" class="dx-tick">${v}</text>`);
    }
    parts.push(`<text x="${left}" y="${bottom + 16}" class="dx-tick">0</text>` +
               `<text x="${right}" y="${bottom + 16}" text-anchor="end" class="dx-tick">${last}</text>` +
               `<text x="${(left + right) / 2}" y="${bottom + 30}" text-anchor="middle" class="dx-axis">` +
               `${words.x}</text>`);
    parts.push(`<text x="4" y="16" class="dx-title">${words.title} · ${chart.schedule}</text>` +
               `<text x="${right}" y="16" text-anchor="end" class="dx-legend"><tspan fill="#2563eb">━ ` +
               `${words.signal}</tspan>  <tspan fill="#dc2626">━ ${words.noise}</tspan></text>`);
    return parts.join("");
}

function drawChart(svg, payload) {
    const chart = payload.chart;
    if (!chart) {
        svg.style.display = "none";
        return;
    }
    svg.style.display = "";
    const words = chart.labels[lang()];
    const [left, right, top, bottom] = [46, 410, 34, 196];
    const last = state.arrays.alpha_bar.length - 1;
    const X = (t) => left + ((right - left) * t) / Math.max(last, 1);
    const Y = (v) => bottom - (bottom - top) * v;
    const line = (values, every) =>
        Array.from(values, (v, i) => `${X(i * every).toFixed(1)},${Y(v).toFixed(1)}`).join(" ");
    const ab = state.arrays.alpha_bar;
    // the curves, axes and words change with the data or the language only: drawn once, then only the cursor
    const key = `${state.loaded}|${lang()}`;
    if (svg.dataset.key !== key) {
        const curves = chartCurves(chart, words, ab, X, Y, line, left, right, top, bottom, last);
        svg.innerHTML = `<g class="dx-static">${curves}</g><g class="dx-dynamic"></g>`;
        svg.dataset.key = key;
    }
    const parts = [];
    const t = state.value, s = Math.sqrt(ab[t]), n = Math.sqrt(1 - ab[t]);
    const side = t < last * 0.8 ? 8 : -8, anchor = side > 0 ? "start" : "end";
    const [sy, ny] = s >= n ? [-8, 18] : [18, -8];
    parts.push(`<line class="dx-cursor" x1="${X(t)}" x2="${X(t)}" y1="${top}" y2="${bottom}" stroke="#111827" ` +
               `stroke-dasharray="4 3"/>` +
               `<circle cx="${X(t)}" cy="${Y(s)}" r="5.5" fill="#2563eb" stroke="white" stroke-width="2"/>` +
               `<circle cx="${X(t)}" cy="${Y(n)}" r="5.5" fill="#dc2626" stroke="white" stroke-width="2"/>` +
               `<text x="${X(t) + side}" y="${Y(s) + sy}" text-anchor="${anchor}" class="dx-value" fill="#2563eb">` +
               `${s.toFixed(3)}</text>` +
               `<text x="${X(t) + side}" y="${Y(n) + ny}" text-anchor="${anchor}" class="dx-value" fill="#dc2626">` +
               `${n.toFixed(3)}</text>`);
    svg.querySelector(".dx-dynamic").innerHTML = parts.join("");
}

function draw() {
    const payload = state.payload;
    if (!payload || payload.kind === "frames") return;
    const box = root();
    const language = lang();
    box.dataset.kind = payload.kind;
    box.querySelector(".dx-single-label").textContent = payload.single_label ? payload.single_label[language] : "";
    box.querySelector(".dx-row-label").textContent = payload.row_label ? payload.row_label[language] : "";
    if (payload.kind !== "frames") {
        const stats = drawImages(box, payload);
        box.querySelector(".dx-formula").innerHTML = format(payload.formula[language], formulaValues(payload, stats));
        drawChart(box.querySelector(".dx-chart"), payload);
    }
    state.drawn += 1;
    box.dataset.value = String(state.value);
    box.dataset.drawn = String(state.drawn);
    registry.drawnAt = registry.drawnAt || {};
    registry.drawnAt[viewId] = performance.now();
}

function load() {
    const text = props.value;
    let payload = null;
    try {
        payload = text ? JSON.parse(text) : null;
    } catch (error) {
        payload = null;
    }
    if (!payload || !payload.kind) return;
    state.arrays = {};
    for (const [name, encoded] of Object.entries(payload.arrays || {})) {
        state.arrays[name] = decode(encoded, (payload.dtypes || {})[name] || "f32");
    }
    if (payload.arrays && payload.arrays.x && payload.dtypes && payload.dtypes.x === "u8") {
        state.arrays.x = Float32Array.from(state.arrays.x, (v) => v / 255);
    }
    state.payload = payload;
    state.loaded = (state.loaded || 0) + 1;
    if (state.value === undefined || state.value === null) state.value = payload.value;
    if (payload.kind === "ddpm") state.value = Math.min(Math.max(state.value, 0), state.arrays.alpha_bar.length - 1);
    if (payload.kind === "frames") state.value = payload.frames.length;
    registry.frames = registry.frames || {};
    registry.frames[viewId] = payload.kind === "frames" ? payload.frames.length : 0;
    draw();
}

// A kept step of a "frames" view as Gradio outputs: its images as FileData (data URLs: no request) and
// its caption in the page's language; `gr.skip()`-like nulls until a run has finished.
function frameOutputs(value) {
    const payload = state.payload;
    if (!payload || payload.kind !== "frames" || !payload.frames.length) return null;
    const index = Math.min(Math.max(Math.round(Number(value)) - 1, 0), payload.frames.length - 1);
    const frame = payload.frames[index];
    const files = frame.images.map((url, i) => ({url, path: `frame-${index + 1}-${i}.png`,
                                                 orig_name: `frame-${index + 1}-${i}.png`,
                                                 meta: {_type: "gradio.FileData"}}));
    return frame.text ? [...files, frame.text[lang()]] : files;
}

registry.frame = function (id, value, outputs) {
    const view = this.views[id];
    const result = view && view.frame(value);
    return result || Array(outputs).fill(undefined);
};

// Play a "frames" view: step the slider `sliderId` from 1 to the last kept step, one step per `ms`, as a
// learner would (each step an input event of the slider, so the page's own scrub event draws it).
registry.play = function (id, sliderId, ms) {
    const count = (this.frames || {})[id] || 0;
    const range = document.querySelector(`#${sliderId} input[type=range]`);
    if (!count || !range) return;
    clearInterval(this.playing);
    let step = 1;
    const show = () => {
        range.value = String(step);
        range.dispatchEvent(new Event("input", {bubbles: true}));
        if (++step > count) clearInterval(this.playing);
    };
    show();
    this.playing = setInterval(show, ms);
};

registry.views[viewId] = {
    frame(value) {
        const outputs = frameOutputs(value);
        if (outputs) {
            state.value = Number(value);
            this.settleLater();
            registry.drawnAt = registry.drawnAt || {};
            registry.drawnAt[viewId] = performance.now();
        }
        return outputs;
    },
    settleLater() {
        // once the learner lets go of the slider (pointer up, or the focus leaves it after arrow keys), the
        // server may redraw what the page does not (a histogram, the code): the view's "settle" event
        state.dirty = true;
        const slider = document.activeElement;
        if (slider && slider.matches && slider.matches("input") && slider !== state.watched) {
            state.watched = slider;
            const settle = () => {
                if (state.dirty) {
                    state.dirty = false;
                    trigger("settle");
                }
            };
            slider.addEventListener("pointerup", settle);
            slider.addEventListener("blur", settle);
        }
    },
    set(value) {
        const number = Number(value);
        if (!Number.isFinite(number) || (number === state.value && state.drawn > 0)) return;
        const payload = state.payload;
        if (payload && payload.kind === "ddpm") {
            state.value = Math.min(Math.max(Math.round(number), 0), state.arrays.alpha_bar.length - 1);
        } else {
            state.value = number;
        }
        draw();
        this.settleLater();
    },
    get state() {
        return state;
    },
};
// The fastest path: the slider's own input event, before Gradio's change event (which then finds the value
// drawn already). The slider is the one `follow` named (props.slider_id).
if (props.slider_id) {
    document.addEventListener("input", (event) => {
        const target = event.target;
        if (target && target.closest && target.closest(`#${props.slider_id}`) && target.matches("input")) {
            registry.views[viewId].set(target.value);
        }
    }, true);
}
new MutationObserver(draw).observe(document.documentElement, {attributes: true, attributeFilter: ["data-dx-lang"]});
watch("value", load);
load();
