"""Each article's audit trail as a hash chain: a record changed, removed or slipped in shows.

Every record of an article's trail (its history rows, transition records, versions, reviews,
signatures and events) gets a link when it is written, in the writer's transaction: the
SHA-256 of each of the record's fields, the hash of those (the record's content hash), and
the hash of that with the previous link's hash. The chain's head (last hash, length) is on the
article's row, written under the article's row lock, so two writers never fork a chain. Links
are appended by a ``post_save`` receiver: whatever service writes a record, the record is
chained, and the article is locked by it. ``editorial.workflow.chain_verify`` recomputes them.

The tamper evidence is FDA 21 CFR Part 11 §11.10(e) and EU GMP Annex 11 §9's audit trail: a
record changed or deleted afterwards, or inserted outside the application, is reported by
``manage.py verify_audit``.
"""

import hashlib
import json
from collections.abc import Callable

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, router
from django.db.models.signals import post_save

from articles.models import Article, ArticleVersion
from editorial.models import AuditLink, Event, TransitionRecord
from reviewers.models import Review, Signature


def _article_of_review(review: Review) -> int:
    return review.invitation.article_id


#: What is chained: record type -> (model, the article's id of a record, fields not covered).
#: Fields left out change legitimately after the record is written (an event's delivery state).
CHAINED: dict[str, tuple[type, Callable, tuple[str, ...]]] = {}


def _register(model, article_of: Callable, mutable: tuple[str, ...] = ()) -> None:
    CHAINED[model._meta.label_lower] = (model, article_of, mutable)


def register_all() -> None:
    """Fill ``CHAINED`` (the history model exists only once the apps are ready)."""
    _register(Article.history.model, lambda row: row.id)
    _register(TransitionRecord, lambda record: record.article_id)
    _register(ArticleVersion, lambda version: version.article_id)
    _register(Review, _article_of_review)
    _register(Signature, lambda signature: signature.article_id)
    _register(Event, lambda event: event.article_id, ("status", "relayed_at", "done_at"))


def covered_fields(model) -> list[str]:
    """The attribute names of ``model``'s fields a link covers, in a fixed order."""
    mutable = CHAINED[model._meta.label_lower][2]
    return sorted(f.attname for f in model._meta.concrete_fields if f.name not in mutable)


def _canonical(value) -> str:
    """One field's value as canonical JSON (the same value read back gives the same text)."""
    return json.dumps(
        json.loads(json.dumps(value, cls=DjangoJSONEncoder)),
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )


def field_hashes(values: dict) -> dict[str, str]:
    """{attname: SHA-256 hex of the field's canonical JSON} for a record's ``values()`` dict."""
    return {name: hashlib.sha256(_canonical(value).encode()).hexdigest() for name, value in values.items()}


def content_hash(hashes: dict[str, str]) -> str:
    """The record's content hash: SHA-256 of its field hashes in canonical JSON."""
    return hashlib.sha256(_canonical(hashes).encode()).hexdigest()


def link_hash(*, previous: str, record_type: str, record_id: int, seq: int, content: str) -> str:
    """SHA-256 of the previous link's hash, the record's identity and position, and its content hash."""
    return hashlib.sha256(f"{previous}|{record_type}|{record_id}|{seq}|{content}".encode()).hexdigest()


#: Fields the database's clock may overwrite on insert (the BEFORE INSERT trigger of
#: ``editorial.workflow.db_roles``) that Django does not read back by itself: re-read on
#: PostgreSQL unless the writer read them back (``editorial.workflow.writes`` does).
CLOCKED = {"articles.historicalarticle": "history_date"}


def clocked_fields(model) -> list:
    """The fields of ``model`` the database's clock may set that an INSERT must return."""
    name = CLOCKED.get(model._meta.label_lower)
    return [model._meta.get_field(name)] if name else []


def append(record) -> AuditLink | None:
    """Chain ``record`` (just inserted) to its article's trail, in the caller's transaction.

    Moves the article's head with a conditional ``UPDATE`` (which takes the article's row
    lock) from the head this connection last wrote, and writes the link: one statement on
    PostgreSQL, two on SQLite. When another writer moved the head meanwhile, the head is read
    under ``SELECT … FOR UPDATE`` first, then moved and linked in two. On PostgreSQL a
    history row's time, which the database's clock may have set, is read back first (one
    more) unless its writer read it back (``editorial.workflow.writes`` does). Records of no
    article (an event of a digest) give None.
    """
    record_type = record._meta.label_lower
    model, article_of, _ = CHAINED[record_type]
    article_id = article_of(record)
    if article_id is None:
        return None
    connection = connections[router.db_for_write(model)]
    if record_type in CLOCKED and connection.vendor == "postgresql" and not getattr(record, "_clock_read", False):
        name = CLOCKED[record_type]
        setattr(record, name, model.objects.filter(pk=record.pk).values_list(name, flat=True).get())
    values = {name: getattr(record, name) for name in covered_fields(model)}
    hashes = field_hashes(values)
    own = content_hash(hashes)
    heads = connection.__dict__.setdefault("_audit_heads", {})
    if len(heads) > 10_000:
        heads.clear()
    known = heads.get(article_id)
    link, attempts = None, (known, None)
    if known is not None and connection.vendor == "postgresql":
        link = _move_and_link_in_one(connection, article_id, known, record_type, record.pk, hashes, own)
        attempts = () if link is not None else (None,)
    for attempt in attempts:
        if attempt is None:
            attempt = (
                Article.objects.select_for_update(of=("self",))
                .filter(pk=article_id)
                .values_list("audit_head", "audit_length")
                .get()
            )
        head, length = attempt
        seq = length + 1
        new = link_hash(previous=head, record_type=record_type, record_id=record.pk, seq=seq, content=own)
        moved = Article.objects.filter(pk=article_id, audit_head=head, audit_length=length).update(
            audit_head=new, audit_length=seq
        )
        if moved:
            link = AuditLink.objects.create(
                article_id=article_id,
                seq=seq,
                record_type=record_type,
                record_id=record.pk,
                field_hashes=hashes,
                content_hash=own,
                previous_hash=head,
                link_hash=new,
            )
            break
    if link is None:  # unreachable under the row lock: the head read under it is the head
        raise RuntimeError(f"The audit chain of article {article_id} moved under its lock.")
    heads[article_id] = (link.link_hash, link.seq)
    return link


def _move_and_link_in_one(connection, article_id, known, record_type, record_id, hashes, own) -> AuditLink | None:
    """PostgreSQL: move the head from ``known`` and insert the link in one statement (a
    data-modifying CTE). None, with nothing written, when the head is no longer ``known``."""
    head, length = known
    seq = length + 1
    new = link_hash(previous=head, record_type=record_type, record_id=record_id, seq=seq, content=own)
    quote = connection.ops.quote_name
    article_table, link_table = quote(Article._meta.db_table), quote(AuditLink._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH h AS (UPDATE {article_table} SET audit_head = %s, audit_length = %s "  # noqa: S608 - our tables
            "WHERE id = %s AND audit_head = %s AND audit_length = %s RETURNING id) "
            f"INSERT INTO {link_table} (article_id, seq, record_type, record_id, field_hashes, content_hash, "
            "previous_hash, link_hash) SELECT id, %s, %s, %s, %s::jsonb, %s, %s, %s FROM h RETURNING id, created_at",
            [new, seq, article_id, head, length, seq, record_type, record_id, json.dumps(hashes), own, head, new],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    link = AuditLink(
        id=row[0],
        article_id=article_id,
        seq=seq,
        record_type=record_type,
        record_id=record_id,
        field_hashes=hashes,
        content_hash=own,
        previous_hash=head,
        link_hash=new,
        created_at=row[1],
    )
    link._state.adding, link._state.db = False, connection.alias
    return link


def _on_save(sender, instance, created, raw=False, **kwargs) -> None:
    if created and not raw:
        append(instance)


def connect() -> None:
    """Chain every record of the chained models as it is inserted (``AppConfig.ready``)."""
    register_all()
    for record_type, (model, _, _) in CHAINED.items():
        post_save.connect(_on_save, sender=model, dispatch_uid=f"editorial.workflow.chain.{record_type}")
