import pytest

from articles.models import Article
from editorial import services
from editorial.permissions import Role
from tests.factories import UserFactory, make_article


@pytest.fixture
def author(db):
    return UserFactory(username="author", roles=[Role.AUTHOR])


@pytest.fixture
def other_author(db):
    return UserFactory(username="other_author", roles=[Role.AUTHOR])


@pytest.fixture
def editor(db):
    return UserFactory(username="editor", roles=[Role.EDITOR])


@pytest.fixture
def second_editor(db):
    return UserFactory(username="editor2", roles=[Role.EDITOR])


@pytest.fixture
def board_member(db):
    return UserFactory(username="reviewer1", roles=[Role.BOARD])


@pytest.fixture
def auditor(db):
    return UserFactory(username="auditor", roles=[Role.AUDITOR])


@pytest.fixture
def superuser(db):
    return UserFactory(username="admin", is_superuser=True)


@pytest.fixture
def draft(author) -> Article:
    return make_article(author)


def advance(article: Article, steps, **actors) -> Article:
    """Run ``steps`` of (transition, actor name, reason) through the services."""
    for name, actor, reason in steps:
        article = services.article_transition(article=article, actor=actors[actor], name=name, reason=reason)
    return article


@pytest.fixture
def in_state(author, editor):
    """Build an article in any status through the real services."""
    paths = {
        "draft": [],
        "submitted": [("submit", "author", "")],
        "under_review": [("submit", "author", ""), ("start_review", "editor", "")],
        "changes_requested": [
            ("submit", "author", ""),
            ("start_review", "editor", ""),
            ("request_changes", "editor", "Add doses."),
        ],
        "approved": [("submit", "author", ""), ("start_review", "editor", ""), ("approve", "editor", "")],
        "rejected": [("submit", "author", ""), ("reject", "editor", "Out of scope.")],
        "withdrawn": [("withdraw", "author", "No longer needed.")],
        "retracted": [
            ("submit", "author", ""),
            ("start_review", "editor", ""),
            ("approve", "editor", ""),
            ("retract", "editor", "Guidance changed."),
        ],
    }

    def build(status: str, article: Article | None = None) -> Article:
        article = article or make_article(author)
        return advance(article, paths[status], author=author, editor=editor)

    return build
