"""What the relay hands the worker with an event's id: the event, so the worker need not read it.

The leading relay takes it from the event's notification, which a trigger fills as the
writing transaction commits (editorial/migrations/0021: the same columns, in the same order,
as a JSON array); a claim (``editorial.notifications.relay.claim``) returns it with each
event it stamps. Both carry the columns the worker's templates and rules use: the event's
kind and payload, and what they show of its article and its actor. ``snapshot`` turns one
such row into the task's second argument (JSON: Celery's serializer), ``event_from`` turns
that back into an ``Event`` without a query.

The article's columns are those at the event's commit (or at the claim, a moment after); a
message handed over without them (queued before they were added, or by the beat's requeue)
makes the worker read the event as before. Whether the event is still pending is never taken
from here: the worker checks it in the statement that writes the deliveries
(``editorial.notifications.delivery.fan_out``), so a redelivered message for an event already
done still sends nothing.
"""

import json

from django.contrib.auth import get_user_model
from django.db import connection

from articles.models import Article
from editorial.models import Event

User = get_user_model()

#: What the templates and rules read of the article and of the actor (the rest stays deferred).
ARTICLE_FIELDS = ["id", "title", "slug", "author_id", "status", "review_round"]
ACTOR_FIELDS = ["id", "username", "first_name", "last_name", "is_active"]
#: How many columns ``columns`` selects (and the event table's trigger sends, editorial/migrations/0021).
WIDTH = 14


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def columns(alias: str) -> str:
    """The select list of a claim's row, from the event table aliased ``alias`` (joined by ``joins``)."""
    return (
        f"{alias}.id, {alias}.kind, {alias}.payload, {alias}.article_id, {alias}.actor_id, "
        "a.title, a.slug, a.author_id, a.status, a.review_round, u.username, u.first_name, u.last_name, u.is_active"
    )


def joins(alias: str) -> str:
    """The article and the actor of the event aliased ``alias``, for ``columns``."""
    return (
        f"LEFT JOIN {_table(Article)} a ON a.id = {alias}.article_id "
        f"LEFT JOIN {_table(User)} u ON u.id = {alias}.actor_id"
    )


def snapshot(row: tuple) -> dict:
    """The task's second argument, from one row selected by ``columns``: plain JSON values.

    The payload stays the JSON text the database returned (decoded once, by the worker).
    """
    _, kind, payload, article_id, actor_id, *rest = row
    article = [article_id, *rest[:5]] if article_id is not None else None
    actor = [actor_id, *rest[5:8], bool(rest[8])] if actor_id is not None else None
    if not isinstance(payload, str):  # a driver that decoded it already
        payload = json.dumps(payload)
    return {"kind": kind, "payload": payload, "article": article, "actor": actor}


def event_from(event_id: int, handed: dict) -> Event:
    """The ``Event`` (status pending, as handed over) with its article and actor, from ``snapshot``'s dict.

    Raises KeyError or ValueError for a dict that ``snapshot`` did not make.
    """
    article, actor = handed["article"], handed["actor"]
    event = loaded(
        Event,
        {
            "id": event_id,
            "kind": handed["kind"],
            "payload": json.loads(handed["payload"]),
            "status": Event.Status.PENDING,
            "article_id": article[0] if article else None,
            "actor_id": actor[0] if actor else None,
        },
    )
    if article:
        event.article = loaded(Article, dict(zip(ARTICLE_FIELDS, article, strict=True)))
    if actor:
        event.actor = loaded(User, dict(zip(ACTOR_FIELDS, actor, strict=True)))
    return event


def loaded(model, values: dict):
    """An instance as loaded from the database with only ``values`` (the other fields deferred).

    ``Model.from_db`` takes the values in the model's field order, whatever order the names come in.
    """
    names = [field.attname for field in model._meta.concrete_fields if field.attname in values]
    return model.from_db(connection.alias, names, [values[name] for name in names])
