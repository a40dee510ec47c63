"""Chinese / English switching for the whole UI, in the browser.

Each tab module keeps its own strings in a ``TEXT`` dict of ``key -> {"zh": ..., "en": ...}``.
Static strings (labels, info lines, lesson Markdown, button texts, choices, tab and accordion names)
are built as Gradio ``I18nData`` keys: the page holds both languages (``TRANSLATIONS``, passed to
``launch(i18n=I18N)``) and Gradio's frontend translates them, Gradio's own strings included ("Drop
Image Here", "Error"). ``LANGUAGE_JS`` (``launch(js=...)``) picks the language before the page is shown
(``?lang=en|zh``, else the browser's language) and ``SWITCH_JS`` switches it in the browser, with no
server round trip. Computed text (statuses, results, charts) still comes from the handlers, which take
the ``lang`` radio as an input; those that must follow a switch listen to ``lang.change`` (a
``Localizer.add`` entry, or an event of their own).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import gradio as gr
from gradio.i18n import I18nData

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
LANGUAGE_CHOICES = [("中文", "zh"), ("English", "en")]
LOCALES = {"zh": "zh-CN", "en": "en"}  # the app's languages -> Gradio's frontend locales

Text = dict[str, dict[str, str]]

# Every static string the UI registered, per Gradio locale: ``{"en": {key: text}, "zh-CN": {key: text}}``.
# Keys are derived from the texts, so building the app twice registers the same keys.
TRANSLATIONS: dict[str, dict[str, str]] = {locale: {} for locale in LOCALES.values()}
I18N = gr.I18n(**TRANSLATIONS)  # holds the dicts above by reference: strings registered later are included


# The language a page opens in: ``?lang=en|zh``, else the browser's first language (Chinese unless it says otherwise).
_WANTED_JS = """
    const query = new URLSearchParams(window.location.search).get("lang");
    const browser = ((navigator.languages && navigator.languages[0]) || navigator.language || "").toLowerCase();
    const wanted = query === "zh" || query === "en" ? query : (!browser || browser.startsWith("zh") ? "zh" : "en");
"""

# Put into the page's <head> after its config and before Gradio's own script (``EarlyLanguageScript``): Gradio's
# frontend takes its locale from ``navigator.language`` when it starts, so the page is built, and first painted,
# in ``wanted``.
EARLY_JS = (
    "(() => {"
    + _WANTED_JS
    + """    const locale = wanted === "zh" ? "zh-CN" : "en";
    try {
        Object.defineProperty(navigator, "language", {get: () => locale, configurable: true});
        Object.defineProperty(navigator, "languages", {get: () => [locale], configurable: true});
    } catch (error) {}
    document.documentElement.dataset.dxLang = wanted;
    // The page is built in Chinese: results computed then (formulas, charts, statuses) are re-worded by the
    // server once the radio says English. On an English page, keep those hidden until no Chinese is left in
    // them (at most 10 s), so that the first paint shows one language only. Images and code have no language.
    function holdComputed() {
        const config = window.gradio_config || {}, components = config.components || [];
        const radio = components.find((c) => c.props && c.props.elem_id === "language");
        if (!radio) return;
        const worded = new Set(["markdown", "plot", "dataframe", "html"]), pending = new Set();
        const dependencies = config.dependencies || [], byLanguage = new Set();
        // the events the radio's change starts, and the steps chained after them (.then / .success)
        dependencies.forEach((dep) => {
            if (dep.targets.some(([id, event]) => id === radio.id && event === "change")) byLanguage.add(dep.id);
        });
        for (let grown = true; grown; ) {
            grown = false;
            dependencies.forEach((dep) => {
                if (dep.trigger_after != null && byLanguage.has(dep.trigger_after) && !byLanguage.has(dep.id)) {
                    byLanguage.add(dep.id);
                    grown = true;
                }
            });
        }
        dependencies.forEach((dep) => {
            if (!dep.backend_fn || !byLanguage.has(dep.id)) return;
            dep.outputs.forEach((id) => {
                const component = components.find((c) => c.id === id);
                if (component && worded.has(component.type)) pending.add(component.props.elem_id || `component-${id}`);
            });
        });
        const style = document.createElement("style");
        style.id = "dx-hold";
        const chinese = /[\\u3400-\\u9fff]/, both = /\\s\\/\\s|\\s·\\s/;
        function reworded(element) {  // drawn, with some text, and none of it Chinese
            const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
            let drawn = false;
            for (let node; (node = walker.nextNode()); ) {
                if (node.parentElement.closest("[data-testid=status-tracker]")) continue;  // "0.6s", not a result
                if (chinese.test(node.nodeValue) && !both.test(node.nodeValue)) return false;
                drawn = drawn || node.nodeValue.trim() !== "";
            }
            return drawn;
        }
        let observer = null, queued = false;
        function check() {
            queued = false;
            for (const id of pending) {
                const element = document.getElementById(id);
                if (element && reworded(element)) pending.delete(id);
            }
            style.textContent = Array.from(pending, (id) => `#${CSS.escape(id)}`).join(", ") +
                (pending.size ? " { visibility: hidden; }" : "");
            if (!style.isConnected) document.head.appendChild(style);  // (Gradio rewrites the head as it starts)
            if (!pending.size && observer) observer.disconnect();
        }
        observer = new MutationObserver(() => {
            if (!queued) {
                queued = true;
                requestAnimationFrame(check);
            }
        });
        observer.observe(document.documentElement, {childList: true, subtree: true, characterData: true});
        setTimeout(() => { pending.clear(); check(); }, 10000);
        check();
    }
    if (wanted === "en") holdComputed();
})();"""
)

# ``launch(js=...)``: defines the in-page switch. Gradio keeps its locale in svelte-i18n and exports
# ``changeLocale`` from its ``core`` module; importing that module by its URL gives the same instance.
LANGUAGE_JS = (
    """() => {
    const LOCALES = {zh: "zh-CN", en: "en"};
    const root = document.documentElement;"""
    + _WANTED_JS
    + """
    let gradioCore = null;
    function core() {
        if (!gradioCore) {
            const url = performance.getEntriesByType("resource").map((entry) => entry.name)
                .find((name) => /\\/assets\\/core-[^/]*\\.js(\\?|$)/.test(name));
            gradioCore = url ? import(url) : Promise.reject(new Error("Gradio's core module was not found"));
        }
        return gradioCore;
    }
    const tick = () => new Promise((resolve) => setTimeout(resolve, 10));
    // Gradio names the tabs once, when it builds the page, and a tab not opened yet keeps that name (it may
    // also redraw the buttons with it later). Name every tab button in the page's language, from the app's
    // own translations in the page's config, whenever the buttons change.
    const messages = (window.gradio_config && window.gradio_config.i18n_translations) || {};
    const keyOf = new Map();
    Object.values(messages).forEach((table) => Object.entries(table).forEach(([key, text]) => keyOf.set(text, key)));
    function nameTabs() {
        const now = messages[LOCALES[root.dataset.dxLang === "en" ? "en" : "zh"]] || {};
        document.querySelectorAll("[role=tab], .tab-container button").forEach((button) => {
            const walker = document.createTreeWalker(button, NodeFilter.SHOW_TEXT);
            for (let node; (node = walker.nextNode()); ) {
                const text = now[keyOf.get(node.nodeValue.trim())];
                if (text && text !== node.nodeValue) node.nodeValue = text;
            }
        });
    }
    let naming = false;
    new MutationObserver(() => {
        if (!naming) {
            naming = true;
            requestAnimationFrame(() => { naming = false; nameTabs(); });
        }
    }).observe(document.body, {childList: true, subtree: true, characterData: true});
    async function setLanguage(lang) {
        lang = lang === "en" ? "en" : "zh";
        root.dataset.dxLang = lang;  // LANGUAGE_CSS shows the blocks of this language (bilingual())
        nameTabs();
        const locale = LOCALES[lang];
        if (root.lang !== locale) {
            (await core()).changeLocale(locale);
            // svelte-i18n loads Gradio's own strings for the locale, then sets <html lang>
            for (const start = performance.now(); root.lang !== locale && performance.now() - start < 3000; ) {
                await tick();
            }
        }
        nameTabs();
    }
    window.diffusionExplorer = {wanted, setLanguage};
    setLanguage(wanted)
        .then(async () => {  // fetch Gradio's strings of the other language now, so that a switch needs no download
            const other = LOCALES[wanted === "zh" ? "en" : "zh"], langs = (await core()).process_langs();
            if (langs[other] && langs[other].type === "lazy") await langs[other].data();
        })
        .catch((error) => console.warn("Diffusion Explorer: could not set the language:", error));
}"""
)

# ``demo.load(None, None, lang, js=LOAD_JS)``: the radio shows the page's language, without a server call.
LOAD_JS = "() => {" + _WANTED_JS + "    return wanted;\n}"

# ``lang.change(..., js=SWITCH_JS)``: switch in the browser first; the server part (computed text) follows.
SWITCH_JS = """(lang) => {
    if (window.diffusionExplorer) {
        window.diffusionExplorer.setLanguage(lang).catch((error) => console.warn("Diffusion Explorer:", error));
    }
    return lang;
}"""

# ``bilingual`` blocks: only the page's language is shown.
LANGUAGE_CSS = """
html:not([data-dx-lang="en"]) .dx-en, html[data-dx-lang="en"] .dx-zh { display: none !important; }
"""


class EarlyLanguageScript:
    """ASGI middleware that puts ``EARLY_JS`` before the app page's module script (``launch(app_kwargs=...)``).

    Only HTML answers to GET requests are touched; everything else streams through unchanged.
    """

    TAG = f"<script>{EARLY_JS}</script>".encode()

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or scope.get("method") != "GET":
            await self.app(scope, receive, send)
            return
        held: dict | None = None
        chunks: list[bytes] = []

        async def send_with_script(message: dict) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                headers = {key.lower(): value for key, value in message.get("headers", [])}
                encoded = headers.get(b"content-encoding", b"identity") != b"identity"
                if headers.get(b"content-type", b"").startswith(b"text/html") and not encoded:
                    held = message  # wait for the body, then send both with the new length
                    return
            elif message["type"] == "http.response.body" and held is not None:
                chunks.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                body = b"".join(chunks)
                mark = b'<script type="module"' if b'<script type="module"' in body else b"</head>"
                body = body.replace(mark, self.TAG + mark, 1)
                headers = [(k, v) for k, v in held.get("headers", []) if k.lower() != b"content-length"]
                await send({**held, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        await self.app(scope, receive, send_with_script)


def bilingual(zh: str, en: str) -> str:
    """Markdown holding both languages; the page shows the current one (``LANGUAGE_CSS``), with no server call."""
    return f'<div class="dx-zh">\n\n{zh}\n\n</div>\n<div class="dx-en">\n\n{en}\n\n</div>'


def pick(text: Text, key: str, lang: str) -> str:
    """Return ``text[key]`` in ``lang`` (falling back to Chinese, then to the key itself)."""
    entry = text.get(key)
    if entry is None:
        return key
    return entry.get(lang if lang in LANGUAGES else DEFAULT_LANGUAGE) or entry.get(DEFAULT_LANGUAGE, key)


def normalize_language(value: Any) -> str:
    """Map anything the API may send as a language to ``"zh"`` or ``"en"``."""
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def language_from_request(request: gr.Request | None) -> str:
    """The language a request asks for: ``?lang=en|zh``, else its Accept-Language (the page decides in JS)."""
    if request is None:
        return DEFAULT_LANGUAGE
    query = dict(getattr(request, "query_params", {}) or {})
    if query.get("lang") in LANGUAGES:
        return query["lang"]
    accept = (getattr(request, "headers", {}) or {}).get("accept-language", "")
    first = accept.split(",")[0].strip().lower()
    if first and not first.startswith("zh"):
        return "en"
    return DEFAULT_LANGUAGE


def translated(text: Text, key: str) -> I18nData:
    """``text[key]`` as a Gradio translation key, registered in ``TRANSLATIONS`` for both languages."""
    strings = {lang: pick(text, key, lang) for lang in LANGUAGES}
    digest = hashlib.sha1("\0".join(strings[lang] for lang in LANGUAGES).encode()).hexdigest()[:16]
    i18n_key = f"dx_{digest}"  # no dot or brace: Gradio reads the key out of a JSON marker
    for lang, string in strings.items():
        TRANSLATIONS[LOCALES[lang]][i18n_key] = string
    return I18nData(i18n_key)


class Localizer:
    """Registers how components change with the language.

    Static strings become translation keys (``label``, ``value``, ``choices``, ``widget``, ``text``): the
    browser switches them. Computed content registers ``add(component, lang -> gr.update)``; ``apply``
    runs those on the server after a switch.
    """

    def __init__(self) -> None:
        self._entries: list[tuple[gr.components.Component | gr.blocks.BlockContext, Callable[[str], Any]]] = []

    def add(self, component: Any, updater: Callable[[str], Any]) -> Any:
        """Register ``updater(lang) -> gr.update`` for computed content of ``component``; returns the component."""
        self._entries.append((component, updater))
        return component

    def label(self, component: Any, text: Text, key: str, info_key: str | None = None) -> Any:
        """Translate a component's ``label`` (and ``info``) from ``text``."""
        component.label = translated(text, key)
        if info_key:
            component.info = translated(text, info_key)
        return component

    def value(self, component: Any, text: Text, key: str) -> Any:
        """Translate a component's ``value`` (Markdown, Button text) from ``text``."""
        component.value = str(translated(text, key))
        return component

    def choices(
        self,
        component: Any,
        text: Text,
        keys: dict[str, str],
        label_key: str | None = None,
        info_key: str | None = None,
    ) -> Any:
        """Translate a Radio/Dropdown's choices: ``keys`` maps each choice value to its text key."""
        component.choices = [(translated(text, key), value) for value, key in keys.items()]
        if label_key:
            component.label = translated(text, label_key)
        if info_key:
            component.info = translated(text, info_key)
        return component

    def widget(
        self,
        factory: Callable[..., Any],
        text: Text,
        key: str,
        *,
        info: str | None = None,
        choices: dict[str, str] | list | None = None,
        **kwargs: Any,
    ) -> Any:
        """Build a labelled widget whose label (and info, choices) follow the language: one call.

        ``factory`` is a component class or a builder such as ``ui.components.slider``; it gets
        ``label`` (and ``info``) from ``text`` plus ``kwargs``. ``choices`` given as a dict
        ``{value: text_key}`` are shown translated; as a list, as they are. Layout blocks with a label
        work too: ``with loc.widget(gr.Tab, TEXT, "tab"):``.

        Example::

            amount = loc.widget(slider, TEXT, "amount", info="amount_info", minimum=0, maximum=1, name="amount")
        """
        if info is not None:
            kwargs["info"] = translated(text, info)
        if isinstance(choices, dict):
            kwargs["choices"] = [(translated(text, choice_key), value) for value, choice_key in choices.items()]
        elif choices is not None:
            kwargs["choices"] = choices
        return factory(label=translated(text, key), **kwargs)

    def text(self, factory: Callable[..., Any], text: Text, key: str, **kwargs: Any) -> Any:
        """Build a component whose *value* is a text (Markdown, Button) that follows the language."""
        return factory(translated(text, key), **kwargs)

    @property
    def components(self) -> list[Any]:
        """The components with computed content (``add``), in registration order."""
        return [component for component, _ in self._entries]

    def apply(self, lang: str) -> list[Any]:
        """The updates for every ``add`` entry, in registration order."""
        lang = normalize_language(lang)
        updates = [updater(lang) for _, updater in self._entries]
        return updates[0] if len(updates) == 1 else updates  # Gradio reads a list as one output's value
