"""Recompute the audit chains (``editorial.workflow.chain``) and the signed content hashes.

A run reports each break it finds: a record whose fields no longer hash as written (and which
fields), a record deleted, a link missing or out of order, a head that does not match its
chain, a record of a chained table that no link covers (inserted outside the application, a
back-dated row for instance), a version whose content no longer hashes to its hash, a
signature whose hash is not its version's. It stores a checkpoint; the next run starts after
it (the nightly task), unless ``full``.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Max, Subquery
from django.utils import timezone

from articles import content
from articles.models import Article, ArticleVersion
from editorial.models import AuditCheckpoint, AuditLink, EventKind
from editorial.workflow import chain
from editorial.workflow.events import record_event
from editorial.workflow.system import system_user
from reviewers.models import Signature

BATCH = 2000


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
        self.heads: dict[int, tuple[str, int]] = {}
        self.links = 0

    def report(self, article_id, record: str, what: str) -> None:
        self.breaks.append(Break(article_id, record, what))

    # --- The links, in each article's order ------------------------------------------------

    def check_links(self) -> int:
        through = self.from_link
        previous = None
        buffer: list[AuditLink] = []
        links = AuditLink.objects.filter(id__gt=self.from_link).order_by("article_id", "seq")
        for link in links.iterator(chunk_size=BATCH):
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
        self._check_heads()
        return through

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
        ids = list(self.heads)
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
        for record_type, (model, article_of, _) in chain.CHAINED.items():
            pk = model._meta.pk.attname
            mark = int(self.marks.get(record_type, 0))
            newest = model.objects.aggregate(newest=Max(pk))["newest"] or 0
            linked = AuditLink.objects.filter(record_type=record_type, record_id__gt=mark).values("record_id")
            loose = model.objects.filter(**{f"{pk}__gt": mark}).exclude(**{f"{pk}__in": linked})
            for record in loose.iterator(chunk_size=BATCH):
                article_id = article_of(record)
                if article_id is None:
                    continue  # not part of any article's trail (an event of a digest)
                self.report(
                    article_id,
                    _name(record_type, record.pk),
                    f"not in the chain: written outside the application (dated {_shown(_when(record))})",
                )
            self.marks[record_type] = max(mark, newest)

    # --- Signed content --------------------------------------------------------------------------

    def check_signed_content(self, *, version_mark: int, signature_mark: int) -> None:
        versions = ArticleVersion.objects.filter(pk__gt=version_mark).only(
            "pk", "article_id", "content", "content_hash"
        )
        for version in versions.iterator(chunk_size=BATCH):
            if content.content_hash(version.content) != version.content_hash:
                self.report(
                    version.article_id,
                    f"article version #{version.pk}",
                    "its content no longer hashes to the hash that signatures name",
                )
        signatures = Signature.objects.filter(pk__gt=signature_mark).values_list(
            "pk", "article_id", "content_hash", "version__content_hash"
        )
        for pk, article_id, signed, hashed in signatures.iterator(chunk_size=BATCH):
            if signed != hashed:
                self.report(article_id, f"signature #{pk}", "the hash signed is not its version's hash")


def _when(record):
    for name in ("history_date", "created_at", "submitted_at", "signed_at"):
        if hasattr(record, name):
            return getattr(record, name)
    return None


def verify(*, full: bool = False) -> Outcome:
    """Verify from the last checkpoint (or everything, ``full``); store and return the outcome.

    Returns an ``Outcome`` whose ``breaks`` lists every break found (empty: the chains hold)
    and whose ``checkpoint`` is the new stored checkpoint. Reads in batches of ``BATCH``; the
    time of an incremental run grows with what was written since the last one.
    """
    run = _Run(full=full)
    version_type, signature_type = ArticleVersion._meta.label_lower, Signature._meta.label_lower
    version_mark, signature_mark = int(run.marks.get(version_type, 0)), int(run.marks.get(signature_type, 0))
    if run.full:
        version_mark = signature_mark = 0
    through = run.check_links()
    run.check_unchained()
    run.check_signed_content(version_mark=version_mark, signature_mark=signature_mark)
    with transaction.atomic():
        checkpoint = AuditCheckpoint.objects.create(
            full=run.full,
            through_link=through,
            marks=run.marks,
            start_marks=run.start_marks,
            links=run.links,
            breaks=len(run.breaks),
            report="\n".join(str(b) for b in run.breaks[:1000]),
        )
    checkpoint.refresh_from_db(fields=["verified_at"])
    return Outcome(checkpoint=checkpoint, breaks=run.breaks)


def mark_chain_start(why: str) -> AuditCheckpoint:
    """Declare every record written so far as before the chain (a checkpoint, full, clean).

    For data written as the owner past the application (the bench generator's months of
    history, written with COPY): verify_audit then neither checks nor reports those records.
    Every later checkpoint carries these marks on. Never called by the application.
    """
    marks = {}
    for record_type, (model, _, _) in chain.CHAINED.items():
        marks[record_type] = model.objects.aggregate(newest=Max(model._meta.pk.attname))["newest"] or 0
    through = AuditLink.objects.aggregate(newest=Max("id"))["newest"] or 0
    return AuditCheckpoint.objects.create(full=True, through_link=through, marks=marks, start_marks=marks, report=why)


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
    break found before). None before any check ran."""
    checkpoint = AuditCheckpoint.objects.order_by("-id").only("verified_at", "full").first()
    if checkpoint is None:
        return None
    prefix = f"article {article_id}: "
    last_full = AuditCheckpoint.objects.filter(full=True).order_by("-id").values("id")[:1]
    reports = AuditCheckpoint.objects.filter(id__gte=Subquery(last_full), breaks__gt=0, report__contains=prefix)
    mine = [
        line[len(prefix) :]
        for report in reports.order_by("id").values_list("report", flat=True)
        for line in report.splitlines()
        if line.startswith(prefix)
    ]
    return {"verified_at": checkpoint.verified_at, "full": checkpoint.full, "breaks": mine}
