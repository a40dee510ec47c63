"""Chinese / English switching for the whole UI.

Each tab module keeps its own strings in a ``TEXT`` dict of ``key -> {"zh": ..., "en": ...}``.
Components register how they change with the language on a shared ``Localizer``; one
``lang.change`` event then updates every label, lesson text and choice list at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
LANGUAGE_CHOICES = [("中文", "zh"), ("English", "en")]

Text = dict[str, dict[str, str]]


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
    """The language a page should open in: ``?lang=en|zh``, else the browser's Accept-Language."""
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


class Localizer:
    """Collects, per component, a function ``lang -> gr.update(...)``."""

    def __init__(self) -> None:
        self._entries: list[tuple[gr.components.Component | gr.blocks.BlockContext, Callable[[str], Any]]] = []

    def add(self, component: Any, updater: Callable[[str], Any]) -> Any:
        """Register ``updater(lang) -> gr.update`` for ``component``; returns the component."""
        self._entries.append((component, updater))
        return component

    def label(self, component: Any, text: Text, key: str, info_key: str | None = None) -> Any:
        """Translate a component's ``label`` (and ``info``) from ``text``."""

        def update(lang: str) -> Any:
            if info_key:
                return gr.update(label=pick(text, key, lang), info=pick(text, info_key, lang))
            return gr.update(label=pick(text, key, lang))

        return self.add(component, update)

    def value(self, component: Any, text: Text, key: str) -> Any:
        """Translate a component's ``value`` (Markdown, Button text) from ``text``."""
        return self.add(component, lambda lang: gr.update(value=pick(text, key, lang)))

    def choices(
        self,
        component: Any,
        text: Text,
        keys: dict[str, str],
        label_key: str | None = None,
        info_key: str | None = None,
    ) -> Any:
        """Translate a Radio/Dropdown's choices: ``keys`` maps each choice value to its text key."""

        def update(lang: str) -> Any:
            kwargs: dict[str, Any] = {"choices": [(pick(text, key, lang), value) for value, key in keys.items()]}
            if label_key:
                kwargs["label"] = pick(text, label_key, lang)
            if info_key:
                kwargs["info"] = pick(text, info_key, lang)
            return gr.update(**kwargs)

        return self.add(component, update)

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
        """Build a labelled widget in the default language and register its translation: one call.

        ``factory`` is a component class or a builder such as ``ui.components.slider``; it gets
        ``label`` (and ``info``) from ``text`` plus ``kwargs``. ``choices`` given as a dict
        ``{value: text_key}`` are shown translated; as a list, as they are. Layout blocks with a label work too: ``with loc.widget(gr.Tab, TEXT, "tab"):``.

        Example::

            amount = loc.widget(slider, TEXT, "amount", info="amount_info", minimum=0, maximum=1, name="amount")
        """
        lang = DEFAULT_LANGUAGE
        if info is not None:
            kwargs["info"] = pick(text, info, lang)
        translated = isinstance(choices, dict)
        if translated:
            kwargs["choices"] = [(pick(text, choice_key, lang), value) for value, choice_key in choices.items()]
        elif choices is not None:
            kwargs["choices"] = choices
        component = factory(label=pick(text, key, lang), **kwargs)
        if translated:
            return self.choices(component, text, choices, label_key=key, info_key=info)
        return self.label(component, text, key, info)

    def text(self, factory: Callable[..., Any], text: Text, key: str, **kwargs: Any) -> Any:
        """Build a component whose *value* is a text (Markdown, Button) and register its translation."""
        return self.value(factory(pick(text, key, DEFAULT_LANGUAGE), **kwargs), text, key)

    @property
    def components(self) -> list[Any]:
        return [component for component, _ in self._entries]

    def apply(self, lang: str) -> list[Any]:
        """The updates for every registered component, in registration order."""
        lang = normalize_language(lang)
        return [updater(lang) for _, updater in self._entries]
