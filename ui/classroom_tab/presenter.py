"""The presenter layout, the stop bar, keyboard navigation and the deep link, all in the page (no server call).

The six stops are six columns of one page; the page shows one at a time (``<html data-dx-stop="N">`` and
``CSS``), so changing stops is instant and never asks the server. Each stop's button in the stop bar shows it
(``show_js``) and, on the server, fills the stop the first time (``ui.classroom_tab.build``).

* ``CSS`` (scoped to ``.dx-classroom``): which stop is shown, large type and high contrast, readable from the
  back of a room.
* ``HEAD`` (``launch(head=...)``): ``window.dxClassroom`` (``go(n)``, ``step(±1)``, ``show(n)``); ← / → go to
  the previous / next stop while the classroom is shown, unless the focus is in a text box, a slider, a radio
  or another field where the arrows have their own meaning; ``?lesson=N`` (1..6) opens the classroom at stop
  N once Gradio has drawn it (with ``?lang=``, handled by ``ui.i18n``, the link also picks the language).
  Going to a stop writes ``?lesson=N`` into the address bar, so the link can be copied.
"""

from __future__ import annotations

from ui.classroom_tab.text import STOP_COUNT, TEXT

TAB_ID = "classroom"  # the classroom's tab id (its button has data-tab-id="classroom")
ROOM_ID = "classroom-room"  # the element holding the stop bar and the stops
STOP_NUMBERS = tuple(range(1, STOP_COUNT + 1))


def go_button_id(number: int) -> str:
    """The element id of stop ``number``'s button in the stop bar."""
    return f"classroom-go-{number}"


def stop_id(number: int) -> str:
    """The element id of stop ``number``'s column."""
    return f"classroom-stop-{number}"


def show_js(number: int) -> str:
    """The ``js=`` of stop ``number``'s button: show that stop in the page."""
    return f"() => {{ if (window.dxClassroom) window.dxClassroom.show({number}); }}"


PREVIOUS_JS = "() => { if (window.dxClassroom) window.dxClassroom.step(-1); }"
NEXT_JS = "() => { if (window.dxClassroom) window.dxClassroom.step(1); }"

HEAD = (
    "<script>\n(() => {\n"
    f"    const STOPS = {STOP_COUNT}, ROOM = {ROOM_ID!r}, TAB = {TAB_ID!r}, LABELS = {list(TEXT['tab'].values())!r};\n"
    + """    const root = document.documentElement;
    const goButton = (number) => document.getElementById(`classroom-go-${number}`);
    const shown = (element) => !!element && element.getClientRects().length > 0;
    const current = () => { const n = parseInt(root.dataset.dxStop || "1", 10); return n >= 1 && n <= STOPS ? n : 1; };
    function show(number) {  // the stop's button calls this (its js=); the CSS shows that stop only
        root.dataset.dxStop = String(number);
        const url = new URL(window.location.href);  // the address bar holds a link to this stop
        url.searchParams.set("lesson", String(number));
        window.history.replaceState(window.history.state, "", url);
    }
    function go(number) {  // press the stop's button: it shows the stop and fills it on first use
        number = Math.max(1, Math.min(STOPS, number));
        const button = goButton(number);
        if (!button) return false;
        show(number);  // at once, so that quick presses count from the new stop
        button.click();
        return true;
    }
    const step = (delta) => go(current() + delta);
    window.dxClassroom = {go, step, show, current};
    // where the arrow keys have their own meaning: text boxes, sliders, radios, selects, code editors
    const OWN_ARROWS = 'input, textarea, select, [contenteditable]:not([contenteditable="false"]), [role="slider"], ' +
        '[role="textbox"], [role="listbox"], [role="combobox"], .cm-editor';
    document.addEventListener("keydown", (event) => {
        if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
        if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
        if (!shown(document.getElementById(ROOM))) return;  // the classroom is not the open tab
        const target = event.target;
        if (target instanceof Element && target.closest(OWN_ARROWS)) return;
        event.preventDefault();
        step(event.key === "ArrowRight" ? 1 : -1);
    });
    // ?lesson=N: open the classroom tab, then stop N, as soon as Gradio has drawn them (at most 30 s)
    const wanted = parseInt(new URLSearchParams(window.location.search).get("lesson") || "", 10);
    if (wanted >= 1 && wanted <= STOPS) {
        root.dataset.dxStop = String(wanted);
        const started = Date.now();
        const timer = setInterval(() => {
            if (Date.now() - started > 30000) return clearInterval(timer);
            const outer = document.querySelector(`button[role="tab"][data-tab-id="${TAB}"]`);
            if (outer && outer.getAttribute("aria-selected") !== "true") return outer.click();
            if (!outer) {  // a narrow screen (a phone): the tab is in Gradio's "More tabs" menu
                const item = Array.from(document.querySelectorAll(".overflow-dropdown button"))
                    .find((button) => LABELS.includes(button.innerText.trim()));
                if (item) item.click();
                return;
            }
            if (!shown(goButton(wanted))) return;
            clearInterval(timer);
            go(wanted);
            root.dataset.dxLesson = String(wanted);  // opened: tests and scripts can wait on it
        }, 100);
    }
})();
</script>"""
)

_SHOW_STOPS = "\n".join(
    f'html[data-dx-stop="{n}"] .dx-classroom .dx-stop-{n} {{ display: flex !important; }}\n'
    f'html[data-dx-stop="{n}"] #{go_button_id(n)} {{ background: #1d4ed8 !important; color: #ffffff !important; }}'
    for n in STOP_NUMBERS
)

CSS = (
    """
/* classroom mode: one stop shown at a time (html[data-dx-stop]), stop 1 until another is chosen. The hiding rule
   has no weight (:where), so that the showing rules win over the copy of it that Gradio prefixes with its container */
:where(.dx-classroom .dx-stop) { display: none !important; }
html:not([data-dx-stop]) .dx-classroom .dx-stop-1 { display: flex !important; }
html:not([data-dx-stop]) #classroom-go-1 { background: #1d4ed8 !important; color: #ffffff !important; }
"""
    + _SHOW_STOPS
    + """
/* the presenter layout: readable from the back of a room (large type, high contrast) */
.dx-classroom { color: #0b0f19; }
.dx-classroom .prose, .dx-classroom .prose p, .dx-classroom .prose li, .dx-classroom .prose td,
.dx-classroom .prose th { font-size: 1.4rem !important; line-height: 1.5 !important; color: #0b0f19 !important; }
.dx-classroom .prose h2 { font-size: 2rem !important; font-weight: 800 !important; margin: 0 0 0.5rem !important;
    color: #0b0f19 !important; }
.dx-classroom .prose h3 { font-size: 1.6rem !important; font-weight: 800 !important; color: #1e3a8a !important;
    margin: 0 0 0.4rem !important; }
.dx-classroom .katex { font-size: 1.1em; }
.dx-classroom button { font-size: 1.25rem !important; font-weight: 700 !important; }
.dx-classroom .dx-bar button { border: 2px solid #1d4ed8 !important; color: #0b0f19; }
.dx-classroom [data-testid="block-info"], .dx-classroom label > span, .dx-classroom [data-testid="block-label"] {
    font-size: 1.2rem !important; font-weight: 700 !important; color: #0b0f19 !important; }
.dx-classroom input[type="number"] { font-size: 1.3rem !important; font-weight: 700 !important; }
.dx-classroom input[type="radio"] { width: 1.3rem; height: 1.3rem; }
.dx-classroom .dx-question { border: 3px solid #1d4ed8 !important; border-radius: 14px; padding: 1rem !important;
    background: #eff6ff !important; }
.dx-classroom .dx-reveal .prose, .dx-classroom .dx-reveal .prose p { font-size: 1.5rem !important; }
.dx-classroom .dx-correct { outline: 8px solid #15803d !important; outline-offset: -8px; }
.dx-classroom .dx-correct [data-testid="block-label"] { background: #15803d !important; color: #ffffff !important; }
.dx-classroom .dx-intro .prose, .dx-classroom .dx-intro .prose p { font-size: 1.05rem !important; }
"""
)
