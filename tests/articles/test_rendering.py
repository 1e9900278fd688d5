"""The one Markdown renderer: what authors write is shown, never executed."""

from html.parser import HTMLParser

import pytest

from articles.rendering import render_markdown

XSS_CORPUS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg/onload=alert(1)>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](  javascript:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](vbscript:msgbox(1))",
    "![x](javascript:alert(1))",
    '<a href="javascript:alert(1)">x</a>',
    "<iframe src=https://evil.example></iframe>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '[x](https://example.org "title" onmouseover=alert(1))',
    "<details open ontoggle=alert(1)>",
    "```\n</code><script>alert(1)</script>\n```",
    "<<script>script>alert(1)<</script>/script>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
]

ALLOWED_SCHEMES = ("http://", "https://", "mailto:", "#")


class Elements(HTMLParser):
    """Every live element and attribute of a fragment (escaped text is not an element)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


@pytest.mark.parametrize("text", XSS_CORPUS)
def test_hostile_markdown_is_neutralised(text):
    html = str(render_markdown(text))
    for tag, attrs in Elements(html).found:
        assert tag not in {"script", "iframe", "svg", "math", "img", "style", "details", "div"}, html
        for name, value in attrs.items():
            assert not name.startswith("on"), html
            assert name != "style", html
            if name in {"href", "src"}:
                assert value.strip().lower().startswith(ALLOWED_SCHEMES), html


def test_malformed_markdown_renders_without_error():
    for text in ["**unclosed", "[link](", "| a |\n|---", "#" * 100, "x" * 10_000, "\u202egnp.exe", "- [1\n- ]"]:
        assert isinstance(str(render_markdown(text)), str)


def test_citations_link_to_the_reference_list():
    html = render_markdown("Exercise helps [1]. See also [2, 3] and [4-6].")
    assert 'href="#ref-1"' in html
    assert 'href="#ref-2"' in html and "[2, 3]" in html
    assert 'href="#ref-4"' in html and "[4-6]" in html


def test_citations_in_code_and_links_are_left_alone():
    html = render_markdown("`a[1]` and [see [2]](https://example.org/)")
    assert 'href="#ref-1"' not in html
    assert "<code>a[1]</code>" in html


def test_headings_start_below_the_page_title():
    html = render_markdown("# Section\n\n## Sub")
    assert "<h1" not in html
    assert html.count("<h2>") == 2


def test_safe_links_keep_working():
    html = render_markdown("[guideline](https://example.org/g)")
    assert 'href="https://example.org/g"' in html
    assert "noopener" in html
