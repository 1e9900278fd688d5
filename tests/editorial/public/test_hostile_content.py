"""Hostile text stored in any field is shown as text, in the workspace and on the public page."""

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from articles.models import Article, Reference
from editorial.workflow import services
from tests.factories import make_article

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


class LiveElements(HTMLParser):
    def __init__(self, html):
        super().__init__()
        self.bad = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name.startswith("on") or (name in ("href", "src") and (value or "").lower().startswith("javascript")):
                self.bad.append((tag, name, value))
        if tag == "img" and dict(attrs).get("src") == "x":
            self.bad.append((tag, "src", "x"))

    def handle_data(self, data):
        pass


def scripts_in(html: str) -> int:
    return html.count('<script>alert("x")')


@pytest.mark.django_db
def test_hostile_text_in_every_field_stays_text(client, author, editor):
    article = make_article(author, title=f"Q {HOSTILE}?", summary=HOSTILE, patient_body=HOSTILE)
    article = services.article_submit(article=article, actor=author)
    # Written past the services (which refuse a javascript: link), as stored data may be.
    Article.objects.filter(pk=article.pk).update(body=f"{HOSTILE} [evil](javascript:alert(1)) [1] [2]")
    Reference.objects.filter(article=article).update(title=HOSTILE, authors=HOSTILE, source=HOSTILE)
    pages = {
        "public": client.get(reverse("article-detail", args=[article.slug])),
    }
    client.force_login(editor)
    pages["change"] = client.get(reverse("admin:articles_article_change", args=[article.pk]))
    pages["history"] = client.get(reverse("admin:articles_article_history", args=[article.pk]))
    pages["list"] = client.get(reverse("admin:articles_article_changelist"))
    for name, response in pages.items():
        html = response.content.decode()
        assert response.status_code == 200, name
        assert scripts_in(html) == 0, name
        assert LiveElements(html).bad == [], name


@pytest.mark.django_db
def test_reference_urls_must_be_web_addresses(author):
    article = make_article(author)
    with pytest.raises(Exception, match="URL"):
        services.references_replace(
            article=article, actor=author, references=[{"title": "x", "url": "javascript:alert(1)"}], reason="x"
        )
    assert Reference(url="javascript:alert(1)").link == ""
