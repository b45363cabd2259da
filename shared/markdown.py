"""Markdown to safe HTML for texts people write in the browser (the recommendations' drafts,
rationales and minority statements): markdown-it-py parses CommonMark with raw HTML off, and nh3
(the ammonia sanitiser) keeps only the tags and attributes below, whatever the parser let through.
Links get rel="noopener noreferrer nofollow" and only http(s) and mailto URLs."""

from __future__ import annotations

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")

TAGS = {"p", "br", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "h3", "h4", "h5", "h6", "a",
        "table", "thead", "tbody", "tr", "th", "td", "hr"}
ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}, "ol": {"start"}}
# Headings in a text are shifted down so that they sit under the page's own (h1, h2).
_SHIFT = {"h1": "h3", "h2": "h4", "h3": "h5", "h4": "h6", "h5": "h6", "h6": "h6"}


def render(text: str) -> Markup:
    """The Markdown `text` as sanitised HTML, safe to put in a template."""
    tokens = _md.parse(text or "")
    for t in tokens:
        if t.type in ("heading_open", "heading_close"):
            t.tag = _SHIFT.get(t.tag, t.tag)
    html = _md.renderer.render(tokens, _md.options, {})
    return Markup(nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES, url_schemes={"http", "https", "mailto"},
                            link_rel="noopener noreferrer nofollow"))
