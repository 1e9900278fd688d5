"""Attribution as it was: every record names its actor and their roles as they were then."""

import re

import pytest
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from accounts.models import SecurityEvent, SecurityEventKind
from editorial.models import TransitionRecord
from tests.accounts.test_operators import change_data
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def everything_about(client, article) -> dict[str, str]:
    """The article's history page, its CSV and JSON exports and the API's history, as text."""
    export = "/admin/audit/export/?article={}&format={}"
    api = APIClient()
    api.force_authenticate(User.objects.get(username="auditor"))
    page = client.get(f"/admin/articles/article/{article.pk}/history/").content.decode()
    return {
        "history page": re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page),  # per request
        "csv": b"".join(client.get(export.format(article.pk, "csv")).streaming_content).decode(),
        "json": b"".join(client.get(export.format(article.pk, "json")).streaming_content).decode(),
        "api": api.get(f"/api/v1/articles/{article.pk}/history/").content.decode(),
    }


def test_renaming_people_changes_no_history_line(client, in_state, auditor, superuser, editor, reviewers):
    """The issue's finding: renamed to the author's name, the editor's rejection became the author's."""
    article = in_state("approved")
    client.force_login(auditor)
    before = everything_about(client, article)
    assert "Editors" in before["history page"] and editor.get_full_name() in before["csv"]

    operator = type(client)()
    operator.force_login(superuser)
    for person in (editor, reviewers[0]):
        data = change_data(person, first_name="Alex", last_name="Morgan", username=f"{person.username}-renamed")
        assert operator.post(f"/admin/auth/user/{person.pk}/change/", data).status_code == 302
    editor.refresh_from_db()
    assert (editor.get_full_name(), editor.username) == ("Alex Morgan", "editor")  # user name frozen: on record

    client.force_login(auditor)
    after = everything_about(client, article)
    for name, text in before.items():
        assert after[name] == text, name


def test_a_record_keeps_the_roles_held_when_acting(in_state, editor):
    article = in_state("approved")
    editor.groups.set([Group.objects.get_or_create(name="Auditors")[0]])
    record = TransitionRecord.objects.filter(article=article, transition="approve").get()
    assert (record.actor_name, record.actor_role) == (editor.get_full_name(), "Editors")
    edits = article.history.filter(history_user=editor)
    assert edits and all(row.history_actor_role == "Editors" for row in edits)


def test_every_history_row_of_a_round_trip_credits_its_actor(in_state):
    article = in_state("approved")
    rows = [
        *article.history.all(),
        *article.references.model.history.filter(article_id=article.pk),
        *article.invitations.model.history.filter(article_id=article.pk),
    ]
    assert rows and all(row.history_actor_name for row in rows)
    assert all(
        row.history_actor_name == (row.history_user.get_full_name() or row.history_user.username) for row in rows
    )


def test_a_user_name_on_record_cannot_change_anywhere(editor, in_state):
    in_state("submitted")  # the author is on record now; the editor is not yet
    fresh = UserFactory(username="typo-nmae")
    fresh.username = "typo-name"
    fresh.save()  # nobody's records name it yet: a typo can be fixed
    author = User.objects.get(username="author")
    author.username = "someone-else"
    with pytest.raises(ValidationError, match="on record"):
        author.save()
    author.save(update_fields=["last_login"])  # saves that leave the user name alone go through


def test_the_operator_form_shows_a_recorded_user_name_read_only(client, superuser, in_state):
    in_state("submitted")
    author = User.objects.get(username="author")
    client.force_login(superuser)
    form = client.get(f"/admin/auth/user/{author.pk}/change/").content.decode()
    assert 'name="username"' not in form and "author" in form
    unrecorded = UserFactory(username="nobody-yet")
    form = client.get(f"/admin/auth/user/{unrecorded.pk}/change/").content.decode()
    assert 'name="username"' in form


def test_failed_signatures_and_the_security_log_credit_as_it_was(in_state, editor):
    from editorial.workflow import signing
    from editorial.workflow.exceptions import SignatureRefused
    from reviewers.models import FailedSignatureAttempt
    from tests.factories import signing_request

    article = in_state("ready")
    with pytest.raises(SignatureRefused):
        signing.verify_signer(actor=editor, password="nope", article=article, request=signing_request(), editor=True)
    editor.first_name = "Renamed"
    editor.save()
    attempt = FailedSignatureAttempt.objects.get()
    event = SecurityEvent.objects.get(kind=SecurityEventKind.SIGNATURE_FAILED)
    assert attempt.actor_name == event.actor_name != "Renamed " + editor.last_name
    assert attempt.actor_role == event.actor_role == "Editors"
