"""Recompute the audit chains (``editorial.workflow.chain``) and the signed content hashes.

A run reports each break it finds: a record whose fields no longer hash as written (and which
fields), a record deleted, a link missing or out of order, a head that does not match its
chain, a record of a chained table that no link covers (inserted outside the application, a
back-dated row for instance), a version whose content no longer hashes to its hash, a
signature whose hash is not its version's. It stores a checkpoint; the next run starts after
it (the nightly task), unless ``full``.

An incremental run also re-reads a rolling slice of older chains, whole articles in id order
from where the last slice stopped (the checkpoint's ``rolling_article``), wrapping to the first
article: their links, records, heads and signed content, and the records of those articles no
link covers. Each run reads at least 1/``EDITORIAL_AUDIT_FULL_CYCLE_DAYS`` of the links, and
further if needed to come round to where the slice stood that many runs ago (the trail grew
meanwhile): any ``EDITORIAL_AUDIT_FULL_CYCLE_DAYS`` nightly runs re-read every record, whatever
was written meanwhile, and a record changed long ago is found without a ``--full`` run.

A run reads in one snapshot (``_snapshot``): a record written while it runs is neither half
seen nor reported as a break; the next run reads it.
"""

import math
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import connections, router, transaction
from django.db.models import Exists, Max, OuterRef, Q, Subquery
from django.utils import timezone

from articles import content
from articles.models import Article, ArticleVersion
from editorial.models import AuditCheckpoint, AuditLink, EventKind
from editorial.workflow import chain
from editorial.workflow.events import record_event
from editorial.workflow.system import system_user
from reviewers.models import Signature

BATCH = 2000

#: How a chained record names its article in a query (``chain.CHAINED`` says it in Python).
ARTICLE_LOOKUP = {"articles.historicalarticle": "id", "reviewers.review": "invitation__article_id"}


@dataclass(frozen=True)
class Break:
    """One thing that does not hold: on which article, which record, what differs."""

    article_id: int | None
    record: str
    what: str

    def __str__(self) -> str:
        where = f"article {self.article_id}" if self.article_id is not None else "no article"
        return f"{where}: {self.record}: {self.what}"


@dataclass
class Outcome:
    checkpoint: AuditCheckpoint
    breaks: list[Break] = field(default_factory=list)


def _name(record_type: str, record_id) -> str:
    model = chain.CHAINED[record_type][0]
    return f"{model._meta.verbose_name} #{record_id}"


def _shown(value) -> str:
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S %Z")
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "…"


class _Run:
    def __init__(self, *, full: bool) -> None:
        last = AuditCheckpoint.objects.order_by("-id").first()
        self.start_marks = last.start_marks if last else {}
        self.full = full or last is None
        self.from_link = 0 if self.full else last.through_link
        self.marks = dict(self.start_marks if self.full else last.marks)
        self.breaks: list[Break] = []
        self.found: set[Break] = set()
        self.heads: dict[int, tuple[str, int]] = {}
        self.links = 0
        self.rolling_from = last.rolling_article if last else 0
        self.rolling_article = self.rolling_from
        self.rolling_lap = (last.rolling_lap if last else 0) + (1 if self.full else 0)  # a full run: a whole lap
        self.rolling_links = 0
        self.slice_articles: list[int] = []

    def report(self, article_id, record: str, what: str) -> None:
        """Note a break once (the slice and the new links may both come upon it)."""
        found = Break(article_id, record, what)
        if found not in self.found:
            self.found.add(found)
            self.breaks.append(found)

    # --- The links, in each article's order ------------------------------------------------

    def check_links(self) -> int:
        """The links written since the checkpoint (all of them when full), then the heads."""
        through = self._check_chain(AuditLink.objects.filter(id__gt=self.from_link), through=self.from_link)
        self._check_heads()
        return through

    def _check_chain(self, links, *, through: int) -> int:
        """Check ``links`` in each article's order with their records; note each article's head."""
        previous = None
        buffer: list[AuditLink] = []
        for link in links.order_by("article_id", "seq").iterator(chunk_size=BATCH):
            through = max(through, link.id)
            if previous is None or previous.article_id != link.article_id:
                previous = self._link_before(link)
            self._check_link(link, previous)
            self.heads[link.article_id] = (link.link_hash, link.seq)
            previous = link
            buffer.append(link)
            if len(buffer) >= BATCH:
                self._check_records(buffer)
                buffer = []
        self._check_records(buffer)
        return through

    # --- The rolling slice of older chains ---------------------------------------------------

    def check_rolling_slice(self) -> Q | None:
        """Re-read the whole chains (to the checkpoint's link) of the next articles in id order.

        The slice starts after ``rolling_from`` and takes articles, wrapping to the first one,
        until their chains hold at least ``rolling_budget()`` links and it has reached
        ``_due()``; it reads those links and their records, checks the heads of those articles
        with the others and looks for their records no link covers. Returns the articles it
        covered (a filter on ``article_id``), None if there was nothing to read. A run reads
        ``rolling_budget()`` links plus at most one article's chain, or what is due if more.
        """
        budget, due = rolling_budget(), self._due()
        taken, place = 0, (self.rolling_lap, self.rolling_from)
        after = Article.objects.filter(pk__gt=self.rolling_from, audit_length__gt=0)
        then = Article.objects.filter(pk__lte=self.rolling_from, audit_length__gt=0)
        ahead = (
            (lap, pk, length)
            for lap, articles in ((self.rolling_lap, after), (self.rolling_lap + 1, then))
            for pk, length in articles.order_by("pk").values_list("pk", "audit_length").iterator(chunk_size=BATCH)
        )
        for lap, pk, length in ahead:
            reached = place if lap == place[0] else (lap, 0)  # past the last article: a lap ends
            if taken >= budget and reached >= due:
                place = reached
                break
            taken, place = taken + length, (lap, pk)
            self.slice_articles.append(pk)
        else:
            if taken:
                place = (self.rolling_lap + 1, self.rolling_from)  # every article: a whole lap
        if place == (self.rolling_lap, self.rolling_from):
            return None
        wrapped = place[0] != self.rolling_lap

        def covered(lookup: str = "article_id") -> Q:
            """The slice's articles, as a filter on ``lookup`` (how a table names its article)."""
            if wrapped:
                return Q(**{f"{lookup}__gt": self.rolling_from}) | Q(**{f"{lookup}__lte": place[1]})
            return Q(**{f"{lookup}__gt": self.rolling_from, f"{lookup}__lte": place[1]})

        before = self.links
        self._check_chain(AuditLink.objects.filter(covered(), id__lte=self.from_link), through=0)
        self.rolling_links, self.links = self.links - before, before
        self.rolling_lap, self.rolling_article = place
        self._check_unchained_of(covered)
        return covered()

    def _due(self) -> tuple[int, int]:
        """Where this run's slice must reach, as (lap, article): a lap past where it stood
        ``EDITORIAL_AUDIT_FULL_CYCLE_DAYS`` runs ago, so what that run re-read is re-read again
        within the cycle however much was written since. (0, 0), nothing, before that many runs."""
        cycle = max(1, settings.EDITORIAL_AUDIT_FULL_CYCLE_DAYS)
        back = AuditCheckpoint.objects.order_by("-id").values_list("rolling_lap", "rolling_article")
        for lap, article in back[cycle - 1 : cycle]:
            return lap + 1, article
        return 0, 0

    def _check_unchained_of(self, covered) -> None:
        """Records of the ``covered`` articles (a function of the article's lookup to a filter)
        no link covers, whatever their id (one slipped in below the checkpoint's mark too),
        except those written before the chain began (``start_marks``)."""
        for record_type, (model, _, _) in chain.CHAINED.items():
            pk = model._meta.pk.attname
            linked = AuditLink.objects.filter(record_type=record_type, record_id=OuterRef(pk))
            start = int(self.start_marks.get(record_type, 0))
            within = covered(ARTICLE_LOOKUP.get(record_type, "article_id"))
            self._report_loose(record_type, model.objects.filter(within, ~Exists(linked), **{f"{pk}__gt": start}))

    def _link_before(self, link: AuditLink) -> AuditLink | None:
        if link.seq == 1:
            return None
        return AuditLink.objects.filter(article_id=link.article_id, seq__lt=link.seq).order_by("-seq").first()

    def _check_link(self, link: AuditLink, previous: AuditLink | None) -> None:
        self.links += 1
        name = _name(link.record_type, link.record_id) if link.record_type in chain.CHAINED else link.record_type
        expected_seq = previous.seq + 1 if previous else 1
        if link.seq != expected_seq:
            self.report(link.article_id, name, f"link(s) {expected_seq}–{link.seq - 1} of the chain are missing")
        expected_previous = previous.link_hash if previous else ""
        if link.previous_hash != expected_previous:
            self.report(link.article_id, name, "does not follow the link before it (chain rewritten)")
        if chain.content_hash(link.field_hashes) != link.content_hash:
            self.report(link.article_id, name, "the link's stored field hashes were changed")
        own = chain.link_hash(
            previous=link.previous_hash,
            record_type=link.record_type,
            record_id=link.record_id,
            seq=link.seq,
            content=link.content_hash,
        )
        if own != link.link_hash:
            self.report(link.article_id, name, "the link's own hash does not match it (link rewritten)")

    def _check_records(self, links: list[AuditLink]) -> None:
        by_type = defaultdict(list)
        for link in links:
            by_type[link.record_type].append(link)
        for record_type, typed in by_type.items():
            if record_type not in chain.CHAINED:
                for link in typed:
                    self.report(link.article_id, record_type, "a link to a kind of record that is not chained")
                continue
            model = chain.CHAINED[record_type][0]
            names = chain.covered_fields(model)
            pk = model._meta.pk.attname
            rows = {row[pk]: row for row in model.objects.filter(pk__in=[x.record_id for x in typed]).values(*names)}
            for link in typed:
                row = rows.get(link.record_id)
                name = _name(record_type, link.record_id)
                if row is None:
                    self.report(link.article_id, name, "deleted (the chain holds it, the table does not)")
                    continue
                now = chain.field_hashes(row)
                changed = sorted(
                    set(now) ^ set(link.field_hashes) | {k for k in now if now[k] != link.field_hashes.get(k)}
                )
                for attname in changed:
                    self.report(
                        link.article_id,
                        name,
                        f"{attname} changed since it was written (now {_shown(row.get(attname))})",
                    )

    def _check_heads(self) -> None:
        """The heads of the articles whose links were read, and of those the slice covered."""
        ids = list(self.heads) + [pk for pk in self.slice_articles if pk not in self.heads]
        if self.full:
            ids += Article.objects.filter(audit_length__gt=0).exclude(pk__in=ids).values_list("pk", flat=True)
        for start in range(0, len(ids), BATCH):
            chunk = ids[start : start + BATCH]
            for pk, head, length in Article.objects.filter(pk__in=chunk).values_list(
                "pk", "audit_head", "audit_length"
            ):
                expected = self.heads.get(pk, ("", 0))
                if (head, length) != expected:
                    self.report(
                        pk,
                        "chain head",
                        f"the article's head says {length} record(s) ending {head[:12] or '(none)'}, "
                        f"the chain holds {expected[1]} ending {expected[0][:12] or '(none)'}",
                    )

    # --- Records no link covers --------------------------------------------------------------

    def check_unchained(self) -> None:
        for record_type, (model, _, _) in chain.CHAINED.items():
            pk = model._meta.pk.attname
            mark = int(self.marks.get(record_type, 0))
            newest = model.objects.aggregate(newest=Max(pk))["newest"] or 0
            linked = AuditLink.objects.filter(record_type=record_type, record_id__gt=mark).values("record_id")
            loose = model.objects.filter(**{f"{pk}__gt": mark}).exclude(**{f"{pk}__in": linked})
            self._report_loose(record_type, loose)
            self.marks[record_type] = max(mark, newest)

    def _report_loose(self, record_type: str, loose) -> None:
        article_of = chain.CHAINED[record_type][1]
        for record in loose.iterator(chunk_size=BATCH):
            article_id = article_of(record)
            if article_id is None:
                continue  # not part of any article's trail (an event of a digest)
            self.report(
                article_id,
                _name(record_type, record.pk),
                f"not in the chain: written outside the application (dated {_shown(_when(record))})",
            )

    # --- Signed content --------------------------------------------------------------------------

    def check_signed_content(self, *, version_mark: int, signature_mark: int, covered: Q | None = None) -> None:
        """The versions and signatures after the marks, and all those of the ``covered`` articles."""
        versions = ArticleVersion.objects.filter(pk__gt=version_mark)
        signatures = Signature.objects.filter(pk__gt=signature_mark)
        if covered is not None:
            versions = ArticleVersion.objects.filter(Q(pk__gt=version_mark) | covered)
            signatures = Signature.objects.filter(Q(pk__gt=signature_mark) | covered)
        versions = versions.only("pk", "article_id", "content", "content_hash")
        for version in versions.iterator(chunk_size=BATCH):
            if content.content_hash(version.content) != version.content_hash:
                self.report(
                    version.article_id,
                    f"article version #{version.pk}",
                    "its content no longer hashes to the hash that signatures name",
                )
        signatures = signatures.values_list("pk", "article_id", "content_hash", "version__content_hash")
        for pk, article_id, signed, hashed in signatures.iterator(chunk_size=BATCH):
            if signed != hashed:
                self.report(article_id, f"signature #{pk}", "the hash signed is not its version's hash")


def _when(record):
    for name in ("history_date", "created_at", "submitted_at", "signed_at"):
        if hasattr(record, name):
            return getattr(record, name)
    return None


def rolling_budget() -> int:
    """Links one run's rolling slice re-reads: the links there are over ``EDITORIAL_AUDIT_FULL_CYCLE_DAYS``.

    That many nightly runs re-read every link; counting them is one pass over the links' index.
    """
    return math.ceil(AuditLink.objects.count() / max(1, settings.EDITORIAL_AUDIT_FULL_CYCLE_DAYS))


@contextmanager
def _snapshot():
    """One transaction for a run's reads, so that it sees the trail as of one moment.

    On PostgreSQL REPEATABLE READ, READ ONLY: a transition committed while the run reads (a
    head moved after its article's links were read) is not seen, so never reported as a
    break; the next run reads it. On SQLite a DEFERRED transaction (a read snapshot under WAL
    that does not take the write lock the project's IMMEDIATE mode would). Inside a caller's
    transaction (a test's), the run reads in that one.
    """
    connection = connections[router.db_for_read(AuditLink)]
    if connection.in_atomic_block:
        yield
        return
    connection.ensure_connection()
    mode = getattr(connection, "transaction_mode", None)
    if connection.vendor == "sqlite":
        connection.transaction_mode = "DEFERRED"
    try:
        with transaction.atomic(using=connection.alias):
            connection.transaction_mode = mode
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield
    finally:
        if connection.vendor == "sqlite":
            connection.transaction_mode = mode


def verify(*, full: bool = False) -> Outcome:
    """Verify from the last checkpoint (or everything, ``full``); store and return the outcome.

    Returns an ``Outcome`` whose ``breaks`` lists every break found (empty: the chains hold)
    and whose ``checkpoint`` is the new stored checkpoint. Reads in batches of ``BATCH``; the
    time of an incremental run grows with what was written since the last one, plus its
    rolling slice of older chains (``_Run.check_rolling_slice``), which a full run needs not.
    """
    with _snapshot():
        run = _Run(full=full)
        version_type, signature_type = ArticleVersion._meta.label_lower, Signature._meta.label_lower
        version_mark, signature_mark = int(run.marks.get(version_type, 0)), int(run.marks.get(signature_type, 0))
        if run.full:
            version_mark = signature_mark = 0
        covered = None if run.full else run.check_rolling_slice()
        through = run.check_links()
        run.check_unchained()
        run.check_signed_content(version_mark=version_mark, signature_mark=signature_mark, covered=covered)
    with transaction.atomic():
        checkpoint = AuditCheckpoint.objects.create(
            full=run.full,
            through_link=through,
            marks=run.marks,
            start_marks=run.start_marks,
            links=run.links,
            rolling_article=run.rolling_article,
            rolling_links=run.rolling_links,
            rolling_lap=run.rolling_lap,
            breaks=len(run.breaks),
            report="\n".join(str(b) for b in run.breaks[:1000]),
        )
    checkpoint.refresh_from_db(fields=["verified_at"])
    return Outcome(checkpoint=checkpoint, breaks=run.breaks)


def mark_chain_start(why: str) -> AuditCheckpoint:
    """Declare every record written so far as before the chain (a checkpoint, full, clean).

    For data written as the owner past the application (the bench generator's months of
    history, written with COPY): verify_audit then neither checks nor reports those records.
    Every later checkpoint carries these marks on; like a full run it counts as a lap of the
    rolling slice, which goes on from where it stood. Never called by the application.
    """
    marks = {}
    for record_type, (model, _, _) in chain.CHAINED.items():
        marks[record_type] = model.objects.aggregate(newest=Max(model._meta.pk.attname))["newest"] or 0
    through = AuditLink.objects.aggregate(newest=Max("id"))["newest"] or 0
    last = AuditCheckpoint.objects.order_by("-id").first()
    place = {"rolling_article": last.rolling_article, "rolling_lap": last.rolling_lap + 1} if last else {}
    return AuditCheckpoint.objects.create(
        full=True, through_link=through, marks=marks, start_marks=marks, report=why, **place
    )


def verify_and_alert(*, full: bool = False) -> Outcome:
    """Verify (``verify``); on any break, tell the auditors. The nightly task and the command.

    The alert is an outbox event (``audit.chain_broken``) with no article, acted by the system
    account: each auditor gets it in their workspace inbox (and by e-mail, as they chose).
    Its payload carries the count, the time, the first 20 breaks and the first article named.
    """
    outcome = verify(full=full)
    if outcome.breaks:
        checkpoint = outcome.checkpoint
        record_event(
            kind=EventKind.AUDIT_CHAIN_BROKEN,
            actor=system_user(),
            payload={
                "breaks": len(outcome.breaks),
                "checkpoint": checkpoint.pk,
                "verified_at": timezone.localtime(checkpoint.verified_at).strftime("%d %b %Y %H:%M %Z"),
                "first": [str(b) for b in outcome.breaks[:20]],
                "first_article": next((b.article_id for b in outcome.breaks if b.article_id), None),
            },
        )
    return outcome


def status_for(article_id: int) -> dict | None:
    """What an article's history page says of the chain: the last check, and this article's
    breaks found by any check since the last full one (an incremental run does not repeat a
    break found before in what is new; its rolling slice may, listed once). None before any
    check ran."""
    checkpoint = AuditCheckpoint.objects.order_by("-id").only("verified_at", "full").first()
    if checkpoint is None:
        return None
    prefix = f"article {article_id}: "
    last_full = AuditCheckpoint.objects.filter(full=True).order_by("-id").values("id")[:1]
    reports = AuditCheckpoint.objects.filter(id__gte=Subquery(last_full), breaks__gt=0, report__contains=prefix)
    mine = dict.fromkeys(
        line[len(prefix) :]
        for report in reports.order_by("id").values_list("report", flat=True)
        for line in report.splitlines()
        if line.startswith(prefix)
    )  # a break the rolling slice finds again on its next pass is listed once
    return {"verified_at": checkpoint.verified_at, "full": checkpoint.full, "breaks": list(mine)}
