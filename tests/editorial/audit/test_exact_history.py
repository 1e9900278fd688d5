"""History records exactly what happened: one row per save, none for a save of no change."""

import pytest
from django.urls import reverse

from articles.models import Article
from editorial.reads.history import compare_history
from editorial.workflow import services
from editorial.workflow.permissions import Role
from reviewers.models import ReviewerProfile
from tests.editorial.workspace.test_admin import change_form
from tests.factories import UserFactory, make_article, make_board_member, make_specialty


def profile_form(profile, specialties):
    return {
        "user": profile.user_id,
        "printed_name": profile.printed_name,
        "credentials": profile.credentials,
        "specialties": [s.pk for s in specialties],
        "bio": profile.bio,
        "is_active": "on" if profile.is_active else "",
        "max_active_reviews": profile.max_active_reviews,
    }


@pytest.mark.django_db
def test_a_board_members_save_with_new_specialties_writes_one_history_row(client, editor):
    cardio, neuro = make_specialty("Cardiology", "cardio"), make_specialty("Neurology", "neuro")
    member = make_board_member("member9", "Ada Member", "MD", specialties=[cardio])
    profile = ReviewerProfile.objects.get(user=member)
    before = profile.history.count()
    client.force_login(editor)
    url = reverse("admin:reviewers_reviewerprofile_change", args=[profile.pk])
    response = client.post(url, profile_form(profile, [neuro]))
    assert response.status_code == 302, response.content.decode()[:2000]
    rows = list(profile.history.order_by("history_id"))
    assert len(rows) == before + 1
    latest = rows[-1]
    assert [s.specialty.name for s in latest.specialties.all()] == ["Neurology"]
    assert (latest.history_type, latest.history_user, latest.history_change_reason) == (
        "~",
        editor,
        "Board member edited",
    )


@pytest.mark.django_db
def test_a_board_members_unchanged_save_writes_no_history_row(client, editor):
    cardio = make_specialty("Cardiology", "cardio")
    member = make_board_member("member9", "Ada Member", "MD", specialties=[cardio])
    profile = ReviewerProfile.objects.get(user=member)
    before = profile.history.count()
    client.force_login(editor)
    url = reverse("admin:reviewers_reviewerprofile_change", args=[profile.pk])
    assert client.post(url, profile_form(profile, [cardio])).status_code == 302
    assert profile.history.count() == before


@pytest.mark.django_db
def test_a_new_board_member_gets_one_history_row_with_its_specialties(client, editor):
    cardio, neuro = make_specialty("Cardiology", "cardio"), make_specialty("Neurology", "neuro")
    user = UserFactory(username="newmember", roles=[Role.BOARD])
    client.force_login(editor)
    data = profile_form(ReviewerProfile(user=user, printed_name="New Member", credentials="MD"), [cardio, neuro])
    response = client.post(reverse("admin:reviewers_reviewerprofile_add"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    rows = list(ReviewerProfile.objects.get(user=user).history.all())
    assert len(rows) == 1
    assert rows[0].history_type == "+"
    assert sorted(s.specialty.name for s in rows[0].specialties.all()) == ["Cardiology", "Neurology"]


@pytest.mark.django_db
def test_saving_an_article_unchanged_writes_nothing(client, author):
    article = make_article(author)
    stored = Article.objects.get(pk=article.pk)
    rows = stored.history.count()
    client.force_login(author)
    url = reverse("admin:articles_article_change", args=[article.pk])
    assert client.post(url, change_form(stored)).status_code == 302
    after = Article.objects.get(pk=article.pk)
    assert after.history.count() == rows
    assert (after.row_version, after.content_updated_at, after.updated_at) == (
        stored.row_version,
        stored.content_updated_at,
        stored.updated_at,
    )


@pytest.mark.django_db
def test_a_real_edit_still_writes_one_row(client, author):
    article = make_article(author)
    stored = Article.objects.get(pk=article.pk)
    rows = stored.history.count()
    client.force_login(author)
    url = reverse("admin:articles_article_change", args=[article.pk])
    assert client.post(url, change_form(stored, summary="Sharper.")).status_code == 302
    after = Article.objects.get(pk=article.pk)
    assert after.history.count() == rows + 1
    assert after.row_version == stored.row_version + 1


@pytest.mark.django_db
def test_compared_values_read_as_people_read_them(author):
    cardio = make_specialty("Cardiology", "cardio")
    article = make_article(author)
    older = article.history.latest("history_date")
    services.article_update(
        article=article, actor=author, fields={"specialty": cardio}, expected_row_version=article.row_version
    )
    newer = article.history.latest("history_date")
    changes = {c["label"]: (c.get("before"), c.get("after")) for c in compare_history(article, older, newer)}
    assert changes["Specialty"] == ("—", "Cardiology")


@pytest.mark.django_db
def test_the_board_members_history_page_reads_as_people_read_it(client, editor):
    cardio, neuro = make_specialty("Cardiology", "cardio"), make_specialty("Neurology", "neuro")
    member = make_board_member("member9", "Ada Member", "MD", specialties=[cardio])
    profile = ReviewerProfile.objects.get(user=member)
    client.force_login(editor)
    data = profile_form(profile, [cardio, neuro])
    data["is_active"] = ""
    url = reverse("admin:reviewers_reviewerprofile_change", args=[profile.pk])
    assert client.post(url, data).status_code == 302
    page = client.get(reverse("admin:reviewers_reviewerprofile_history", args=[profile.pk])).content.decode()
    assert "Cardiology, Neurology" in page
    assert "[" not in page.split("Cardiology, Neurology")[0][-40:]
    assert "Yes" in page and "No" in page


@pytest.mark.django_db
def test_a_references_only_edit_in_the_workspace_still_moves_the_version(client, author):
    article = make_article(author)
    stored = Article.objects.get(pk=article.pk)
    rows = stored.history.count()
    client.force_login(author)
    url = reverse("admin:articles_article_change", args=[article.pk])
    assert client.post(url, change_form(stored, **{"references-0-title": "A better source"})).status_code == 302
    after = Article.objects.get(pk=article.pk)
    assert after.references.first().title == "A better source"
    assert (after.row_version, after.history.count()) == (stored.row_version + 1, rows + 1)
