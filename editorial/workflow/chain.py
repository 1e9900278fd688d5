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
from contextlib import contextmanager

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


def _link_of(record) -> tuple[int, str, dict, str] | None:
    """(article id, record type, field hashes, content hash) of a just-inserted record; None for
    a record of no article (an event of a digest). On PostgreSQL a time the database's clock may
    have set is read back first (one statement) unless its writer read it back."""
    record_type = record._meta.label_lower
    model, article_of, _ = CHAINED[record_type]
    article_id = article_of(record)
    if article_id is None:
        return None
    connection = connections[router.db_for_write(model)]
    if record_type in CLOCKED and connection.vendor == "postgresql" and not getattr(record, "_clock_read", False):
        name = CLOCKED[record_type]
        setattr(record, name, model.objects.filter(pk=record.pk).values_list(name, flat=True).get())
    hashes = field_hashes({name: getattr(record, name) for name in covered_fields(model)})
    return article_id, record_type, hashes, content_hash(hashes)


def append(record) -> AuditLink | None:
    """Chain ``record`` (just inserted) to its article's trail, in the caller's transaction.

    One statement on PostgreSQL when this connection wrote the article's head last, else the
    head is read under ``SELECT … FOR UPDATE`` first (``append_many`` says how). Records of no
    article (an event of a digest) give None.
    """
    links = append_many([record])
    return links[0] if links else None


def append_many(records) -> list[AuditLink]:
    """Chain ``records`` (just inserted, in the order written) to their articles' trails.

    Per article: the links are computed in order from the head, then the head is moved and
    every link inserted together, by a conditional ``UPDATE`` of the head (which takes the
    article's row lock) from the head this connection last wrote: one statement on PostgreSQL
    (a data-modifying CTE), two on SQLite. When another writer moved the head meanwhile, the
    head is read under ``SELECT … FOR UPDATE`` first. Returns the links written.
    """
    by_article: dict[int, list] = {}
    connection = None
    for record in records:
        facts = _link_of(record)
        if facts is None:
            continue
        connection = connection or connections[router.db_for_write(type(record))]
        by_article.setdefault(facts[0], []).append((record, *facts[1:]))
    written = []
    for article_id, items in by_article.items():
        written.extend(_link_all(connection, article_id, items))
    return written


def _link_all(connection, article_id: int, items: list) -> list[AuditLink]:
    heads = connection.__dict__.setdefault("_audit_heads", {})
    if len(heads) > 10_000:
        heads.clear()
    known = heads.get(article_id)
    for attempt in (known, None):
        if attempt is None:
            attempt = (
                Article.objects.select_for_update(of=("self",))
                .filter(pk=article_id)
                .values_list("audit_head", "audit_length")
                .get()
            )
        links = _links_from(article_id, attempt, items)
        if _move_and_insert(connection, article_id, attempt, links):
            heads[article_id] = (links[-1].link_hash, links[-1].seq)
            return links
    # unreachable under the row lock: the head read under it is the head
    raise RuntimeError(f"The audit chain of article {article_id} moved under its lock.")


def _links_from(article_id: int, head_and_length: tuple[str, int], items: list) -> list[AuditLink]:
    head, length = head_and_length
    links = []
    for record, record_type, hashes, own in items:
        length += 1
        new = link_hash(previous=head, record_type=record_type, record_id=record.pk, seq=length, content=own)
        links.append(
            AuditLink(
                article_id=article_id,
                seq=length,
                record_type=record_type,
                record_id=record.pk,
                field_hashes=hashes,
                content_hash=own,
                previous_hash=head,
                link_hash=new,
            )
        )
        head = new
    return links


def _move_and_insert(connection, article_id: int, known: tuple[str, int], links: list[AuditLink]) -> bool:
    """Move the head from ``known`` to the last link's and insert ``links``; False, with nothing
    written, when the head is no longer ``known``."""
    head, length = known
    last = links[-1]
    if connection.vendor != "postgresql":
        moved = Article.objects.filter(pk=article_id, audit_head=head, audit_length=length).update(
            audit_head=last.link_hash, audit_length=last.seq
        )
        if moved:
            AuditLink.objects.bulk_create(links)
        return bool(moved)
    quote = connection.ops.quote_name
    article_table, link_table = quote(Article._meta.db_table), quote(AuditLink._meta.db_table)
    rows = ", ".join(["(%s, %s, %s, %s::jsonb, %s, %s, %s)"] * len(links))
    params = [last.link_hash, last.seq, article_id, head, length]
    for link in links:
        params += [link.seq, link.record_type, link.record_id, json.dumps(link.field_hashes)]
        params += [link.content_hash, link.previous_hash, link.link_hash]
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH h AS (UPDATE {article_table} SET audit_head = %s, audit_length = %s "  # noqa: S608 - our tables
            "WHERE id = %s AND audit_head = %s AND audit_length = %s RETURNING id) "
            f"INSERT INTO {link_table} (article_id, seq, record_type, record_id, field_hashes, content_hash, "
            "previous_hash, link_hash) SELECT h.id, v.* FROM h, (VALUES " + rows + ") AS v "
            "(seq, record_type, record_id, field_hashes, content_hash, previous_hash, link_hash) "
            "RETURNING seq, id, created_at",
            params,
        )
        returned = cursor.fetchall()
    if not returned:
        return False
    by_seq = {seq: (pk, created_at) for seq, pk, created_at in returned}
    for link in links:
        link.pk, link.created_at = by_seq[link.seq]
        link._state.adding, link._state.db = False, connection.alias
    return True


# --- Chaining a service's records together ---------------------------------------------------


@contextmanager
def together(using: str = "default"):
    """Within the block, records inserted on ``using`` wait to be chained by ``flush`` (or at
    the block's end), so that a service's records cost one statement, not one each. A block
    inside another is the outer block's. Nothing is chained when the block raises (the
    caller's transaction rolls back with it). A record written in a savepoint that rolls back
    while the block goes on would still be linked: no service catches an error inside its
    transaction, and ``verify_audit`` would report such a link as a deleted record."""
    connection = connections[using]
    if connection.__dict__.get("_audit_pending") is not None:
        yield
        return
    connection.__dict__["_audit_pending"] = []
    try:
        yield
        flush(connection)
    finally:
        connection.__dict__.pop("_audit_pending", None)


def flush(connection) -> list[AuditLink]:
    """Chain the records waiting on ``connection`` (``together``), in the order written."""
    pending = connection.__dict__.get("_audit_pending")
    if not pending:
        return []
    records = list(pending)
    pending.clear()
    return append_many(records)


def _on_save(sender, instance, created, raw=False, **kwargs) -> None:
    if created and not raw:
        pending = connections[router.db_for_write(sender)].__dict__.get("_audit_pending")
        if pending is not None:
            pending.append(instance)
        else:
            append(instance)


def connect() -> None:
    """Chain every record of the chained models as it is inserted (``AppConfig.ready``)."""
    register_all()
    for record_type, (model, _, _) in CHAINED.items():
        post_save.connect(_on_save, sender=model, dispatch_uid=f"editorial.workflow.chain.{record_type}")
