"""A board's history at any size, for benchmarks: ``manage.py generate_bench_data``.

The services are the only door for real changes, and far too slow for a hundred thousand
articles, so this module writes the rows they would have written directly, with bulk
inserts: articles in every status, their versions, references, invitations, reviews,
signatures, transition records, outbox events and notifications, and every history row
the services would have left, each naming a user and a reason.

Each article lives its life in relative time (hours since it was created), driven by one
random generator seeded from ``--seed``; the life is then placed so that it ends before the
anchor date. Primary keys are given explicitly, counted from the largest one in each table,
so the same seed on an empty database writes the same rows (``checksum()`` proves it).
"""

import contextlib
import hashlib
import json
import random
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils.text import slugify

from articles import content, lints
from articles.dosing import dose_count
from articles.models import Article, ArticleVersion, ContentCheck, ContentFinding, Reference, Specialty
from editorial.models import Event, EventKind, Notification, TransitionRecord
from editorial.workflow import chain_verify
from editorial.workflow.permissions import Role
from editorial.workflow.rounds import CAUSES as ROUND_CAUSES
from editorial.workflow.rounds import ROUND_CLOSERS
from editorial.workflow.system import SYSTEM_USERNAME
from reviewers.models import ROUND_CLOSED, FailedSignatureAttempt, Invitation, Review, ReviewerProfile, Signature

User = get_user_model()

#: The anchor: every generated moment lies before it. Fixed, so a seed always gives the same rows.
DEFAULT_ANCHOR = datetime(2026, 11, 1, tzinfo=UTC)
USERNAME_PREFIX = "bench-"

# --- Word lists --------------------------------------------------------------------------------

SPECIALTIES = [
    "Cardiology",
    "Dermatology",
    "Emergency medicine",
    "Endocrinology",
    "Gastroenterology",
    "Geriatrics",
    "Haematology",
    "Infectious diseases",
    "Nephrology",
    "Neurology",
    "Obstetrics",
    "Oncology",
    "Ophthalmology",
    "Paediatrics",
    "Primary care",
    "Psychiatry",
    "Respiratory medicine",
    "Rheumatology",
    "Sports medicine",
    "Urology",
]
CONDITIONS = [
    "asthma",
    "atrial fibrillation",
    "hypertension",
    "type 2 diabetes",
    "migraine",
    "gout",
    "psoriasis",
    "eczema",
    "iron deficiency anaemia",
    "community-acquired pneumonia",
    "urinary tract infection",
    "chronic kidney disease",
    "heart failure",
    "COPD",
    "osteoarthritis of the knee",
    "plantar fasciitis",
    "hip overuse injury",
    "acute low back pain",
    "depression",
    "generalised anxiety",
    "insomnia",
    "hypothyroidism",
    "coeliac disease",
    "irritable bowel syndrome",
    "GORD",
    "peptic ulcer",
    "otitis media",
    "bronchiolitis",
    "pre-eclampsia",
    "gestational diabetes",
    "glaucoma",
    "conjunctivitis",
    "kidney stones",
    "benign prostatic hyperplasia",
    "shingles",
    "Lyme disease",
    "sepsis",
    "concussion",
    "ankle sprain",
    "rheumatoid arthritis",
    "lupus",
    "multiple sclerosis",
    "Parkinson's disease",
    "dementia",
    "obesity",
    "hyperlipidaemia",
    "anaphylaxis",
    "acne",
    "rosacea",
    "head lice",
]
POPULATIONS = [
    "adults",
    "older adults",
    "children",
    "adolescents",
    "pregnancy",
    "athletes",
    "people with kidney impairment",
    "primary care",
]
QUESTIONS = [
    "What is the first-line treatment for {c} in {p}?",
    "How is {c} diagnosed in {p}?",
    "When should {c} in {p} be referred to a specialist?",
    "What are the warning signs of {c} in {p}?",
    "How should {c} be monitored in {p}?",
    "Which medicines help {c} in {p}, and at what dose?",
]
FIRST_NAMES = ["Priya", "Tomás", "Grace", "Jonas", "Helen", "Sam", "Alex", "Mina", "Omar", "Lena", "Kofi", "Yuki"]
LAST_NAMES = ["Raman", "Ferreira", "Adeyemi", "Becker", "Okafor", "Lindqvist", "Morgan", "Kim", "Haddad", "Novak"]
CREDENTIALS = ["MD", "MD, MPH", "DO", "PharmD", "RN", "MD, PhD", "NP", "MBBS"]
JOURNALS = ["BMJ", "Lancet", "JAMA", "NEJM", "Cochrane Database Syst Rev", "NICE guideline", "WHO guideline"]
DECLINE_REASONS = ["On leave until next month.", "Outside my expertise.", "Too many reviews at the moment."]
CHANGE_REASONS = ["Add doses for older adults.", "Update to the current guideline.", "Clarify the patient text."]
REJECT_REASONS = ["Out of scope for the board.", "The evidence cited does not support the answer."]
RETRACT_REASONS = ["Guidance withdrawn by the issuing body.", "A dosing error was found after publication."]
WITHDRAW_REASONS = ["No longer needed.", "Merged into another article.", "The author left the programme."]

#: How the articles end up, in percent: every status, and revisions of approved ones.
FATES = {
    "draft": 7,
    "submitted": 6,
    "under_review": 8,
    "changes_requested": 7,
    "approved": 40,
    "rejected": 6,
    "withdrawn": 7,
    "retracted": 3,
    "revision_draft": 5,
    "revision_under_review": 4,
    "revision_approved": 7,
}
#: Fates whose article is still moving: placed in the last days before the anchor.
RECENT = {"submitted", "under_review", "revision_under_review"}

HOUR = 1.0
DAY = 24 * HOUR


# --- Rows ----------------------------------------------------------------------------------------


class Ids:
    """Explicit primary keys, counted on from the largest one already in each table."""

    def __init__(self) -> None:
        self.next_id: dict = {}

    def take(self, model) -> int:
        if model not in self.next_id:
            pk = model._meta.pk.attname
            self.next_id[model] = (model.objects.aggregate(top=Max(pk))["top"] or 0) + 1
        value = self.next_id[model]
        self.next_id[model] = value + 1
        return value


def _specialties_history():
    """simple_history's model of the board members' specialty links."""
    return apps.get_model("reviewers", "HistoricalReviewerProfile_specialties")


def _datetime_fields(model) -> tuple[str, ...]:
    return tuple(f.attname for f in model._meta.concrete_fields if isinstance(f, models.DateTimeField))


@dataclass
class Buffer:
    """Rows waiting for their bulk insert, by model, in the order they are to be written."""

    rows: dict = field(default_factory=dict)

    def add(self, model, values: dict) -> None:
        self.rows.setdefault(model, []).append(values)

    def __len__(self) -> int:
        return sum(len(rows) for rows in self.rows.values())


@contextlib.contextmanager
def explicit_timestamps(*models_):
    """Let bulk_create keep the timestamps given (auto_now and auto_now_add would overwrite them)."""
    saved = []
    for model in models_:
        for f in model._meta.concrete_fields:
            if isinstance(f, models.DateField) and (f.auto_now or f.auto_now_add):
                saved.append((f, f.auto_now, f.auto_now_add))
                f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


def bulk_insert(model, rows: list[dict]) -> None:
    """Insert rows given as {attname: value}: COPY on PostgreSQL, ``bulk_create`` elsewhere.

    Both write the same values (the checksum test runs on both). COPY because Django's
    bulk_create spends about 100 µs of Python per row preparing values, which at a hundred
    thousand articles (six million rows) is a quarter of an hour; COPY takes a few µs.
    """
    if connection.vendor != "postgresql":
        model.objects.bulk_create([model(**values) for values in rows], batch_size=500)
        return
    fields = model._meta.concrete_fields
    names = [f.attname for f in fields]
    # Fields the generator does not set (an article's audit chain head) get their default.
    defaults = {f.attname: f.get_default() for f in fields if rows and f.attname not in rows[0]}
    if defaults:
        rows = [{**defaults, **values} for values in rows]
    json_fields = {f.attname for f in fields if isinstance(f, models.JSONField)}
    quote = connection.ops.quote_name
    sql = f"COPY {quote(model._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        if json_fields:
            for values in rows:
                copy.write_row([json.dumps(values[name]) if name in json_fields else values[name] for name in names])
        else:
            for values in rows:
                copy.write_row([values[name] for name in names])


# --- People --------------------------------------------------------------------------------------


@dataclass
class People:
    system: int
    editors: list
    auditors: list
    authors: list
    reviewers: list  # user ids
    signed: dict  # reviewer user id -> (printed name, credentials)
    specialties: list  # (id, name)
    credits: dict  # user id -> (name, roles) as records credit them (accounts.identity)


# --- One article's life --------------------------------------------------------------------------


class Life:
    """One article from its draft to its fate, as the services would have recorded it.

    Moments are hours since the article was created (floats) until ``place()`` turns them
    into dates ending before the anchor.
    """

    def __init__(self, gen: "Generator", fate: str) -> None:
        self.g, self.rng, self.people = gen, gen.rng, gen.people
        self.fate = fate
        self.rows: list = []  # (model, values) in the order written
        self.t = 0.0
        self.saves = 0
        self.invitation_saves: dict = {}  # id -> saves, the row version the service would keep
        self.invitations: dict = {}  # id -> values
        self.completed_reviewers: list = []
        self.versions: dict = {}  # round -> (id, hash)
        rng = self.rng
        self.author = rng.choice(self.people.authors)
        specialty_id, specialty_name = rng.choice(self.people.specialties)
        self.specialty_name = specialty_name
        condition, population = rng.choice(CONDITIONS), rng.choice(POPULATIONS)
        self.id = gen.ids.take(Article)
        title = rng.choice(QUESTIONS).format(c=condition, p=population)
        dose = rng.choice(["5 mg", "10 mg", "250 mg", "500 mg", "1 g"])
        title = title[0].upper() + title[1:]
        self.art = {
            "id": self.id,
            "title": title,
            "slug": f"{slugify(title)[:150]}-{self.id}",
            "summary": f"For {population}, {condition} is managed as the guidelines advise; see the text.",
            "body": "",
            "patient_body": f"{condition.capitalize()} is common. Most people do well with treatment. "
            "Ask your clinician which option fits you.",
            "specialty_id": specialty_id,
            "author_id": self.author,
            "status": "draft",
            "review_round": 0,
            "created_at": 0.0,
            "updated_at": 0.0,
            "content_updated_at": 0.0,
            "last_approved_at": None,
            "review_due_at": None,
            "current_version_id": None,
            "published_version_id": None,
        }
        self.refs = [
            {
                "id": gen.ids.take(Reference),
                "article_id": self.id,
                "position": n,
                "authors": f"{rng.choice(LAST_NAMES)} {rng.choice('ABCDEFGHJKLMN')}, et al.",
                "title": f"{rng.choice(['Management', 'Diagnosis', 'Outcomes', 'Treatment'])} of {condition}: "
                f"{rng.choice(['a systematic review', 'a cohort study', 'a randomised trial', 'guideline'])}",
                "source": rng.choice(JOURNALS),
                "year": rng.randint(2005, 2026),
                "doi": "",
                "pmid": "",
                "url": "",
            }
            for n in range(1, rng.choice((1, 1, 2, 2, 3)) + 1)
        ]
        self.art["body"] = self._body(condition, population, dose, len(self.refs))

    @staticmethod
    def _body(condition: str, population: str, dose: str, references: int) -> str:
        """The text for clinicians: it cites every reference (the citation gate)."""
        research = "[1]" if references == 1 else "[" + ", ".join(str(n) for n in range(2, references + 1)) + "]"
        return (
            "## From the Guidelines\n\n"
            f"Current guidance on {condition} in {population} recommends a stepwise approach [1]. "
            f"Start with the lowest effective dose ({dose} daily) and review within four weeks.\n\n"
            "## From the Research\n\n"
            f"Trials in {population} report fewer exacerbations with early treatment {research}. "
            "Adverse effects were mild and transient."
        )

    # --- Time and records ------------------------------------------------------------------------

    def wait(self, low: float, high: float) -> float:
        self.t += self.rng.uniform(low, high)
        return self.t

    def _history(self, model, values: dict, *, user: int, reason: str, kind: str = "~") -> None:
        if model is Invitation:
            self.invitation_saves[values["id"]] = self.invitation_saves.get(values["id"], 0) + 1
        historical = HISTORY[model]
        name, role = self.people.credits[user]
        self.rows.append(
            (
                historical,
                {
                    **values,
                    "history_id": self.g.ids.take(historical),
                    "history_date": self.t,
                    "history_user_id": user,
                    "history_actor_name": name,
                    "history_actor_role": role,
                    "history_change_reason": reason,
                    "history_type": kind,
                },
            )
        )

    def save_article(self, *, user: int, reason: str, kind: str = "~") -> None:
        self.art["updated_at"] = self.t
        self.saves += 1
        self._history(Article, self.art, user=user, reason=reason, kind=kind)

    def transition(self, name: str, to: str, *, actor: int, reason: str, event: str | None = None, **extra):
        from_status = self.art["status"]
        self.art["status"] = to
        self.save_article(user=actor, reason=reason)
        self.rows.append(
            (
                TransitionRecord,
                {
                    "id": self.g.ids.take(TransitionRecord),
                    "article_id": self.id,
                    "transition": name,
                    "from_status": from_status,
                    "to_status": to,
                    "actor_id": actor,
                    "actor_name": self.people.credits[actor][0],
                    "actor_role": self.people.credits[actor][1],
                    "reason": reason,
                    "review_round": self.art["review_round"],
                    "created_at": self.t,
                },
            )
        )
        if event:
            payload = {
                "transition": name,
                "from": from_status,
                "to": to,
                "reason": reason,
                "round": self.art["review_round"],
                **extra,
            }
            self.event(event, actor=actor, payload=payload, recipients=self.recipients(event, actor, from_status))
        if name in ROUND_CLOSERS:
            self.close_round(name, actor=actor)

    def close_round(self, name: str, *, actor: int) -> None:
        """The app's rule (editorial.workflow.rounds): a closing round ends its open invitations.

        Invited -> cancelled, accepted without a review -> closed, both "round closed"; one
        event tells their reviewers.
        """
        ended = [i for i in self.invitations.values() if i["status"] in ("invited", "accepted")]
        for invitation in sorted(ended, key=lambda i: i["id"]):
            invitation.update(status="cancelled" if invitation["status"] == "invited" else "closed")
            invitation["end_reason"] = ROUND_CLOSED
            self._save_invitation(invitation, user=actor, reason=f"Round closed: {ROUND_CAUSES[name]}")
        if ended:
            self.event(
                EventKind.ROUND_CLOSED,
                actor=actor,
                payload={
                    "invitations": sorted(i["id"] for i in ended),
                    "round": max(i["review_round"] for i in ended),
                    "cause": ROUND_CAUSES[name],
                    "reason": ROUND_CLOSED,
                },
                recipients=sorted({i["reviewer_id"] for i in ended}),
            )

    def recipients(self, kind: str, actor: int, from_status: str = "") -> list:
        people = self.people
        if kind == EventKind.WITHDRAWN and from_status == "draft":
            return []
        if kind in (
            EventKind.SUBMITTED,
            EventKind.WITHDRAWN,
            EventKind.DECLINED,
            EventKind.EXPIRED,
            EventKind.REVIEWS_COMPLETE,
        ):
            return [e for e in people.editors if e != actor]
        if kind == EventKind.DECISION:
            return [self.author]
        if kind == EventKind.RETRACTED:
            return sorted({self.author, *self.completed_reviewers} - {actor})
        return []

    def event(self, kind: str, *, actor: int, payload: dict, recipients: list) -> None:
        event_id = self.g.ids.take(Event)
        self.rows.append(
            (
                Event,
                {
                    "id": event_id,
                    "kind": kind,
                    "article_id": self.id,
                    "actor_id": actor,
                    "payload": payload,
                    "dedupe_key": None,
                    "status": "done",
                    "created_at": self.t,
                    "relayed_at": None,
                    "done_at": self.t + 0.002,
                },
            )
        )
        for person in recipients:
            read = self.t + self.rng.uniform(1, 96) if self.rng.random() < 0.9 else None
            for channel in ("inbox", "email"):
                self.rows.append(
                    (
                        Notification,
                        {
                            "id": self.g.ids.take(Notification),
                            "event_id": event_id,
                            "recipient_id": person,
                            "channel": channel,
                            "status": "sent",
                            "attempts": 0 if channel == "inbox" else 1,
                            "last_error": "",
                            "created_at": self.t + 0.001,
                            "claimed_at": None if channel == "inbox" else self.t + 0.001,
                            "sent_at": self.t + 0.001 if channel == "inbox" else self.t + 0.0015,
                            "read_at": read if channel == "inbox" else None,
                            "digest_id": None,
                        },
                    )
                )

    # --- The author's steps ----------------------------------------------------------------------

    def create(self) -> None:
        self.save_article(user=self.author, reason="Draft created", kind="+")
        for ref in self.refs:
            self._history(Reference, ref, user=self.author, reason="Draft created", kind="+")

    def edit(self, actor: int | None = None, reason: str = "Content edited") -> None:
        self.wait(2, 20 * DAY)
        self.art["body"] += self.rng.choice(
            [
                "\n\nDoses were checked against the current formulary.",
                "\n\nThe patient text now explains when to seek help.",
                "\n\nMonitoring intervals are stated for each step.",
            ]
        )
        self.art["content_updated_at"] = self.t
        self.save_article(user=actor or self.author, reason=reason)

    def submit(self, name: str = "submit") -> None:
        self.wait(2, 10 * DAY)
        self.art["review_round"] += 1
        data = {key: self.art[key] for key in content.CONTENT_FIELDS}
        data["specialty"] = self.specialty_name
        data["references"] = [{key: ref[key] for key in content.REFERENCE_FIELDS} for ref in self.refs]
        digest = content.content_hash(data)
        version_id = self.g.ids.take(ArticleVersion)
        self.versions[self.art["review_round"]] = (version_id, digest)
        self.content_check(version_id, data, digest)
        self.rows.append(
            (
                ArticleVersion,
                {
                    "id": version_id,
                    "article_id": self.id,
                    "review_round": self.art["review_round"],
                    "content": data,
                    "content_hash": digest,
                    "created_at": self.t,
                    "created_by_id": self.author,
                },
            )
        )
        self.art["current_version_id"] = version_id
        reason = "Submitted for review" if name == "submit" else "Resubmitted with changes"
        self.transition(name, "submitted", actor=self.author, reason=reason, event=EventKind.SUBMITTED)
        if name == "resubmit" and self.completed_reviewers:
            previous = [
                i["reviewer_id"]
                for i in self.invitations.values()
                if i["review_round"] == self.art["review_round"] - 1 and i["status"] == "completed"
            ]
            self.invite(
                previous,
                by=self.people.system,
                reason=f"You reviewed round {self.art['review_round'] - 1}; the author has revised the article. "
                "The invitation page shows what changed since the version you reviewed.",
            )

    def content_check(self, version_id: int, data: dict, digest: str) -> None:
        """The lints' record of a new version, as ``editorial.workflow.checks`` writes it."""
        doses, grade, findings = self.g.lint(data, digest)
        check_id = self.g.ids.take(ContentCheck)
        self.rows.append(
            (
                ContentCheck,
                {
                    "id": check_id,
                    "version_id": version_id,
                    "doses": doses,
                    "reading_grade": grade,
                    "created_at": self.t,
                },
            )
        )
        for finding in findings:
            self.rows.append(
                (ContentFinding, {"id": self.g.ids.take(ContentFinding), "content_check_id": check_id, **finding})
            )

    def withdraw(self) -> None:
        self.wait(1, 30 * DAY)
        reason = self.rng.choice(WITHDRAW_REASONS)
        self.transition("withdraw", "withdrawn", actor=self.author, reason=reason, event=EventKind.WITHDRAWN)

    # --- The board -------------------------------------------------------------------------------

    def round_invitations(self, *statuses) -> list:
        rnd = self.art["review_round"]
        return [i for i in self.invitations.values() if i["review_round"] == rnd and i["status"] in statuses]

    def invite(self, reviewers: list, *, by: int, reason: str = "") -> list:
        if not reviewers:
            return []
        rnd = self.art["review_round"]
        if by != self.people.system:  # the system re-invites at the moment of the resubmission
            self.wait(0.5, 2 * DAY)
        reason = reason or f"Invited to review round {rnd}"
        created = []
        for reviewer in reviewers:
            values = {
                "id": self.g.ids.take(Invitation),
                "article_id": self.id,
                "review_round": rnd,
                "reviewer_id": reviewer,
                "status": "invited",
                "invited_by_id": by,
                "invited_at": self.t,
                "respond_by": self.t + 3 * DAY,
                "due_at": self.t + 17 * DAY,
                "responded_at": None,
                "decline_reason": "",
                "conflict": "",
                "conflict_description": "",
                "conflict_disqualifying": False,
                "completed_at": None,
                "end_reason": "",
            }
            self.invitations[values["id"]] = values
            self._history(Invitation, values, user=by, reason=reason, kind="+")
            created.append(values)
        self.event(
            EventKind.INVITED,
            actor=by,
            payload={
                "invitations": [i["id"] for i in created],
                "round": rnd,
                "respond_by": ("moment", self.t + 3 * DAY),
                "due_at": ("moment", self.t + 17 * DAY),
                "reason": reason,
            },
            recipients=sorted(i["reviewer_id"] for i in created),
        )
        return created

    def invite_new(self, count: int) -> list:
        taken = {i["reviewer_id"] for i in self.round_invitations("invited", "accepted", "completed")}
        taken |= {i["reviewer_id"] for i in self.invitations.values() if i["conflict"] == "declared"}
        pool = self.people.reviewers
        chosen = []
        while len(chosen) < count:
            candidate = self.rng.choice(pool)
            if candidate not in taken and candidate not in chosen:
                chosen.append(candidate)
        return self.invite(chosen, by=self.rng.choice(self.people.editors))

    def _save_invitation(self, invitation: dict, *, user: int, reason: str) -> None:
        self._history(Invitation, invitation, user=user, reason=reason)

    def accept(self, invitation: dict) -> bool:
        """Accept before the respond-by date, or return False: too late to accept."""
        moment = max(self.t, invitation["invited_at"]) + self.rng.uniform(0.5, 20)
        if moment >= invitation["respond_by"]:
            return False
        self.t = moment
        declared = self.rng.random() < 0.04
        invitation.update(
            status="accepted",
            responded_at=self.t,
            conflict="declared" if declared else "none",
            conflict_description="Speaker fees from a manufacturer in 2024." if declared else "",
        )
        reason = "Accepted; " + (
            "no competing interests"
            if not declared
            else f"competing interests declared: {invitation['conflict_description']}"
        )
        self._save_invitation(invitation, user=invitation["reviewer_id"], reason=reason)
        if self.art["status"] == "submitted":
            self.transition(
                "start_review", "under_review", actor=self.people.system, reason="Review started: a reviewer accepted"
            )
        return True

    def decline(self, invitation: dict) -> None:
        moment = max(self.t, invitation["invited_at"]) + self.rng.uniform(0.5, 20)
        if moment >= invitation["respond_by"]:
            self.expire(invitation)
            return
        self.t = moment
        reason = self.rng.choice(DECLINE_REASONS)
        invitation.update(status="declined", responded_at=self.t, decline_reason=reason)
        self._save_invitation(invitation, user=invitation["reviewer_id"], reason=f"Declined: {reason}")
        payload = {"invitation": invitation["id"], "reason": reason, "round": invitation["review_round"]}
        actor = invitation["reviewer_id"]
        self.event(
            EventKind.DECLINED, actor=actor, payload=payload, recipients=self.recipients(EventKind.DECLINED, actor)
        )

    def expire(self, invitation: dict) -> None:
        self.t = max(self.t, invitation["respond_by"]) + self.rng.uniform(0.1, 10)
        invitation.update(status="expired")
        system = self.people.system
        self._save_invitation(invitation, user=system, reason="Expired: no answer by the respond-by date")
        payload = {"invitation": invitation["id"], "round": invitation["review_round"]}
        recipients = self.recipients(EventKind.EXPIRED, system)
        self.event(EventKind.EXPIRED, actor=system, payload=payload, recipients=recipients)

    def cancel(self, invitation: dict, editor: int) -> None:
        self.wait(0.1, 12)
        reason = "Enough reviews received."
        invitation.update(status="cancelled")
        self._save_invitation(invitation, user=editor, reason=f"Cancelled: {reason}")
        payload = {"invitation": invitation["id"], "reason": reason, "round": invitation["review_round"]}
        self.event(EventKind.CANCELLED, actor=editor, payload=payload, recipients=[invitation["reviewer_id"]])

    def review(self, invitation: dict, recommendation: str) -> None:
        self.wait(1 * DAY, 12 * DAY)
        rng = self.rng
        reviewer = invitation["reviewer_id"]
        version_id, digest = self.versions[self.art["review_round"]]
        if recommendation == "approve" and rng.random() < 0.01:
            self.rows.append(
                (
                    FailedSignatureAttempt,
                    {
                        "id": self.g.ids.take(FailedSignatureAttempt),
                        "user_id": reviewer,
                        "actor_name": self.people.credits[reviewer][0],
                        "actor_role": self.people.credits[reviewer][1],
                        "article_id": self.id,
                        "meaning": "medically_accurate",
                        "attempted_at": self.t - 0.01,
                    },
                )
            )
        review = {
            "id": self.g.ids.take(Review),
            "invitation_id": invitation["id"],
            "version_id": version_id,
            "recommendation": recommendation,
            # An approval ticks every item (editorial.workflow.checks.require_checklist).
            "claims_accurate": rng.random() < 0.9 or recommendation == "approve",
            "doses_checked": rng.random() < 0.8 or recommendation == "approve",
            "doses_not_applicable": False,
            "references_support": rng.random() < 0.85 or recommendation == "approve",
            "language_fits_audience": rng.random() < 0.8 or recommendation == "approve",
            "machine_passages_verified": False,  # no bench article is declared machine-drafted
            "comments_to_author": f"Comments to the author on invitation {invitation['id']}.",
            "confidential_comments": f"Confidential note on invitation {invitation['id']}."
            if rng.random() < 0.3
            else "",
            "submitted_at": self.t,
        }
        self.rows.append((Review, review))
        label = {"approve": "approve", "minor_revisions": "minor revisions", "major_revisions": "major revisions"}.get(
            recommendation, recommendation
        )
        self._history(Review, review, user=reviewer, reason=f"Review submitted: {label}", kind="+")
        if recommendation == "approve":
            self.sign(signer=reviewer, review=review["id"], meaning="medically_accurate")
        invitation.update(status="completed", completed_at=self.t)
        self._save_invitation(invitation, user=reviewer, reason=f"Review completed: {label}")
        self.completed_reviewers.append(reviewer)
        if not self.round_invitations("invited", "accepted"):
            recipients = self.recipients(EventKind.REVIEWS_COMPLETE, reviewer)
            payload = {"round": self.art["review_round"]}
            self.event(EventKind.REVIEWS_COMPLETE, actor=reviewer, payload=payload, recipients=recipients)

    def sign(self, *, signer: int, review: int | None, meaning: str) -> None:
        version_id, digest = self.versions[self.art["review_round"]]
        if review is None:
            name, credentials = self.g.editor_names[signer], ""
        else:
            name, credentials = self.people.signed[signer]
        self.rows.append(
            (
                Signature,
                {
                    "id": self.g.ids.take(Signature),
                    "article_id": self.id,
                    "version_id": version_id,
                    "content_hash": digest,
                    "signer_id": signer,
                    "printed_name": name,
                    "credentials": credentials,
                    "meaning": meaning,
                    "review_id": review,
                    "signed_at": self.t,
                },
            )
        )

    # --- Rounds and decisions ----------------------------------------------------------------------

    def start_round(self, *, accepted: int, reviewed: int) -> None:
        """Invite (on top of any re-invitations) until ``accepted`` members accepted; ``reviewed`` review."""
        rng = self.rng
        waiting = self.round_invitations("invited")
        if len(waiting) < accepted:
            waiting += self.invite_new(accepted - len(waiting))
        done = 0
        while done < accepted:
            invitation = waiting.pop(0) if waiting else self.invite_new(1)[0]
            if self.accept(invitation):
                done += 1
            else:
                self.expire(invitation)
        if rng.random() < 0.15:  # someone else says no, or never answers
            (self.decline if rng.random() < 0.6 else self.expire)(self.invite_new(1)[0])
        for invitation in self.round_invitations("accepted")[:reviewed]:
            self.review(invitation, "approve")

    def full_round(self, outcome: str) -> None:
        """A complete round: reviews in, ready for the editor's ``outcome``."""
        rng = self.rng
        self.start_round(accepted=2, reviewed=0)
        if rng.random() < 0.25:  # a third invitee, who may answer before the reviews are in
            third = self.invite_new(1)[0]
            roll = rng.random()
            if roll < 0.6:
                self.accept(third) or self.expire(third)
            elif roll < 0.8:
                self.decline(third)
        accepted = self.round_invitations("accepted")
        for n, invitation in enumerate(accepted):
            if outcome == "approve":
                recommendation = "approve" if n < 2 or rng.random() < 0.7 else "minor_revisions"
            elif outcome == "changes":
                recommendation = (
                    rng.choice(["minor_revisions", "major_revisions"])
                    if n == 0
                    else rng.choice(["approve", "minor_revisions", "major_revisions"])
                )
            else:
                recommendation = "reject" if n == 0 else rng.choice(["reject", "major_revisions"])
            self.review(invitation, recommendation)

    def decide(self, decision: str) -> None:
        editor = self.rng.choice(self.people.editors)
        for invitation in self.round_invitations("invited"):
            self.cancel(invitation, editor)
        self.wait(2, 4 * DAY)
        rnd = self.art["review_round"]
        if decision == "approve":
            version_id, _ = self.versions[rnd]
            self.art.update(last_approved_at=self.t, review_due_at=self.t + 365 * DAY, published_version_id=version_id)
            self.sign(signer=editor, review=None, meaning="publication")
            letter = f"Decision on round {rnd}: Approved for publication.\n"
            _, digest = self.versions[rnd]
            extra = {"letter": letter, "override_reason": "", "signature_hash": digest}
            self.transition("approve", "approved", actor=editor, reason="Approved", event=EventKind.DECISION, **extra)
        elif decision == "request_changes":
            reason = self.rng.choice(CHANGE_REASONS)
            letter = f"Decision on round {rnd}: Changes requested.\n\nFrom the editor:\n{reason}\n"
            self.transition(
                "request_changes",
                "changes_requested",
                actor=editor,
                reason=reason,
                event=EventKind.DECISION,
                letter=letter,
            )
        else:
            reason = self.rng.choice(REJECT_REASONS)
            letter = f"Decision on round {rnd}: Not accepted for publication.\n\nFrom the editor:\n{reason}\n"
            self.transition("reject", "rejected", actor=editor, reason=reason, event=EventKind.DECISION, letter=letter)

    def approved(self) -> None:
        self.submit()
        if self.rng.random() < 0.25:  # a first round sent back for changes
            self.full_round("changes")
            self.decide("request_changes")
            self.edit(reason="Revised after the board's comments")
            self.submit("resubmit")
        self.full_round("approve")
        self.decide("approve")

    def revise(self) -> None:
        self.wait(20 * DAY, 300 * DAY)
        actor = self.author if self.rng.random() < 0.7 else self.rng.choice(self.people.editors)
        self.transition("revise", "draft", actor=actor, reason="Revision opened")
        self.edit(actor=actor, reason="Updated for the new guideline")

    def retract(self) -> None:
        self.wait(20 * DAY, 300 * DAY)
        editor = self.rng.choice(self.people.editors)
        reason = self.rng.choice(RETRACT_REASONS)
        self.transition("retract", "retracted", actor=editor, reason=reason, event=EventKind.RETRACTED)

    # --- Fates -----------------------------------------------------------------------------------

    def live(self) -> None:
        rng = self.rng
        fate = self.fate
        self.create()
        if fate == "draft":
            if rng.random() < 0.5:
                self.edit()
        elif fate == "submitted":
            self.submit()
            if rng.random() < 0.5:
                self.invite_new(2)
        elif fate == "under_review":
            self.submit()
            self.start_round(accepted=rng.choice((1, 2)), reviewed=rng.choice((0, 0, 1)))
        elif fate == "changes_requested":
            self.submit()
            self.full_round("changes")
            self.decide("request_changes")
        elif fate == "approved":
            self.approved()
        elif fate == "rejected":
            self.submit()
            if rng.random() < 0.4:
                self.decide("reject")  # a desk rejection
            else:
                self.full_round("reject")
                self.decide("reject")
        elif fate == "withdrawn":
            stage = rng.choice(["draft", "submitted", "under_review", "changes_requested"])
            if stage != "draft":
                self.submit()
            if stage == "under_review":
                self.start_round(accepted=1, reviewed=0)
            elif stage == "changes_requested":
                self.full_round("changes")
                self.decide("request_changes")
            self.withdraw()
        elif fate == "retracted":
            self.approved()
            self.retract()
        elif fate.startswith("revision_"):
            self.approved()
            self.revise()
            if fate == "revision_under_review":
                self.submit()
                self.start_round(accepted=rng.choice((1, 2)), reviewed=rng.choice((0, 1)))
            elif fate == "revision_approved":
                self.submit()
                self.full_round("approve")
                self.decide("approve")
        else:  # pragma: no cover - FATES and this list are kept together
            raise ValueError(fate)

    # --- Placing the life in time ------------------------------------------------------------------

    def place(self, anchor: datetime, buffer: Buffer) -> None:
        """Turn hours into dates ending before the anchor, and hand the rows to the buffer."""
        rng = self.rng
        gap = rng.uniform(1, 72) if self.fate in RECENT else rng.uniform(1 * DAY, 3 * 365 * DAY)
        start = anchor - timedelta(hours=self.t + gap)
        self.art["row_version"] = self.saves
        # The services' count of valid board signatures on the current version (no conflicts
        # are ruled disqualifying here, and the author never reviews).
        self.art["valid_signatures"] = sum(
            1
            for model, values in self.rows
            if model is Signature
            and values["review_id"] is not None
            and values["version_id"] == self.art["current_version_id"]
        )

        def moment(hours):
            return start + timedelta(hours=hours)

        def convert(model, values):
            for name in self.g.datetime_fields[model]:
                if values.get(name) is not None:
                    values[name] = moment(values[name])
            return values

        buffer.add(Article, convert(Article, dict(self.art)))
        for ref in self.refs:
            buffer.add(Reference, ref)
        for invitation in self.invitations.values():
            row_version = self.invitation_saves[invitation["id"]]
            buffer.add(Invitation, convert(Invitation, dict(invitation, row_version=row_version)))
        for model, values in self.rows:
            if model is Event:
                for key, value in values["payload"].items():
                    if isinstance(value, tuple):
                        values["payload"][key] = moment(value[1]).isoformat()
            elif model is Notification and values["read_at"] is not None and moment(values["read_at"]) >= anchor:
                values["read_at"] = None
            buffer.add(model, convert(model, values))


# --- The generator -------------------------------------------------------------------------------

#: The historical model of each audited model (simple_history builds a manager on every access).
HISTORY = {model: model.history.model for model in (Article, Reference, Invitation, Review)}

#: The order in which rows are written (foreign keys are checked at commit anyway).
INSERT_ORDER = [
    Article,
    Reference,
    ArticleVersion,
    ContentCheck,
    ContentFinding,
    Invitation,
    Review,
    Signature,
    FailedSignatureAttempt,
    TransitionRecord,
    Event,
    Notification,
    *HISTORY.values(),
]


class Generator:
    def __init__(
        self,
        *,
        articles: int,
        reviewers: int,
        seed: int,
        editors: int = 0,
        authors: int = 0,
        anchor: datetime = DEFAULT_ANCHOR,
        password: str = "bench",  # noqa: S107 - bench users only
        chunk: int = 1000,
        progress=None,
    ) -> None:
        self.n_articles = articles
        self.n_reviewers = reviewers
        self.n_editors = editors or 4
        self.n_authors = authors or max(5, articles // 100)
        self.rng = random.Random(seed)
        self.seed = seed
        self.anchor = anchor
        self.password = password
        self.chunk = chunk
        self.progress = progress or (lambda done, total, started: None)
        self.ids = Ids()
        self.datetime_fields = {model: _datetime_fields(model) for model in INSERT_ORDER}
        self.counts: dict = {}
        self.lints: dict = {}  # content hash -> (doses, grade, findings): most texts repeat

    def lint(self, data: dict, digest: str) -> tuple[int, float | None, list[dict]]:
        """What the lints find in a version's content (``articles.lints``), once per distinct content."""
        if digest not in self.lints:
            findings = [
                {"code": f.code, "field": f.field, "message": f.message, "excerpt": f.excerpt} for f in lints.lint(data)
            ]
            self.lints[digest] = (dose_count(data), lints.reading_grade(data["patient_body"]), findings)
        return self.lints[digest]

    def run(self) -> dict:
        started = time.monotonic()
        fates = list(FATES)
        weights = [FATES[f] for f in fates]
        with explicit_timestamps(Article, ArticleVersion, User):
            with transaction.atomic():
                self.people = self.make_people()
            self.progress(0, self.n_articles, started)
            for first in range(0, self.n_articles, self.chunk):
                buffer = Buffer()
                for _ in range(first, min(first + self.chunk, self.n_articles)):
                    life = Life(self, self.rng.choices(fates, weights)[0])
                    life.live()
                    life.place(self.anchor, buffer)
                with transaction.atomic():
                    self.write(buffer)
                self.progress(min(first + self.chunk, self.n_articles), self.n_articles, started)
        self.reset_sequences()
        chain_verify.mark_chain_start("Bench data generated by the owner: its records are before the chain.")
        self.counts["seconds"] = round(time.monotonic() - started, 1)
        return self.counts

    def write(self, buffer: Buffer) -> None:
        for model in INSERT_ORDER:
            rows = buffer.rows.get(model, [])
            if rows:
                bulk_insert(model, rows)
                self.counts[model._meta.label] = self.counts.get(model._meta.label, 0) + len(rows)

    def reset_sequences(self) -> None:
        touched = [
            *INSERT_ORDER,
            User,
            User.groups.through,
            Specialty,
            Specialty.history.model,
            ReviewerProfile,
            ReviewerProfile.history.model,
            ReviewerProfile.specialties.through,
        ]
        m2m_history = _specialties_history()
        touched.append(m2m_history)
        statements = connection.ops.sequence_reset_sql(no_style(), touched)
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)

    # --- People --------------------------------------------------------------------------------

    def make_people(self) -> People:
        rng = self.rng
        anchor = self.anchor
        joined = anchor - timedelta(days=6 * 365)
        password = make_password(self.password, salt=f"benchsalt{self.seed}")
        groups = {role: Group.objects.get_or_create(name=role)[0].pk for role in Role}
        users, memberships = [], []
        names: dict = {}
        credits: dict = {}

        system = User.objects.filter(username=SYSTEM_USERNAME).first()
        if system is None:
            system = User(
                id=self.ids.take(User),
                username=SYSTEM_USERNAME,
                first_name="Editorial",
                last_name="system",
                is_active=False,
                password="!bench-unusable",  # noqa: S106 - an unusable password, fixed for reproducibility
                date_joined=joined,
            )
            users.append(system)
        else:
            self.ids.take(User)  # keep the numbering independent of whether it existed
        credits[system.pk] = ("Editorial system", "")

        def person(username: str, role: Role) -> int:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            user = User(
                id=self.ids.take(User),
                username=f"{USERNAME_PREFIX}{username}",
                first_name=first,
                last_name=last,
                email=f"{USERNAME_PREFIX}{username}@example.org",
                is_staff=True,
                password=password,
                date_joined=joined,
            )
            users.append(user)
            memberships.append(
                User.groups.through(id=self.ids.take(User.groups.through), user_id=user.id, group_id=groups[role])
            )
            names[user.id] = f"{first} {last}"
            credits[user.id] = (names[user.id], role.value)
            return user.id

        editors = [person(f"editor-{n:02d}", Role.EDITOR) for n in range(1, self.n_editors + 1)]
        auditors = [person(f"auditor-{n}", Role.AUDITOR) for n in range(1, 3)]
        authors = [person(f"author-{n:05d}", Role.AUTHOR) for n in range(1, self.n_authors + 1)]
        reviewers = [person(f"reviewer-{n:04d}", Role.BOARD) for n in range(1, self.n_reviewers + 1)]
        User.objects.bulk_create(users, batch_size=2000)
        User.groups.through.objects.bulk_create(memberships, batch_size=2000)
        self.editor_names = {pk: names[pk] for pk in editors}
        actor = editors[0]

        specialties = []
        specialty_history = []
        for name in SPECIALTIES:
            existing = Specialty.objects.filter(slug=slugify(name)).first()
            if existing:
                specialties.append((existing.pk, existing.name))
                continue
            pk = self.ids.take(Specialty)
            specialties.append((pk, name))
            specialty_history.append(
                Specialty.history.model(
                    id=pk,
                    name=name,
                    slug=slugify(name),
                    history_id=self.ids.take(Specialty.history.model),
                    history_date=joined,
                    history_user_id=actor,
                    history_actor_name=credits[actor][0],
                    history_actor_role=credits[actor][1],
                    history_change_reason="Bench specialty",
                    history_type="+",
                )
            )
        Specialty.objects.bulk_create(
            [Specialty(id=h.id, name=h.name, slug=h.slug) for h in specialty_history], batch_size=2000
        )
        Specialty.history.model.objects.bulk_create(specialty_history, batch_size=2000)

        profiles, profile_history, links, link_history = [], [], [], []
        m2m_history = _specialties_history()
        signed = {}
        for user_id in reviewers:
            pk = self.ids.take(ReviewerProfile)
            credentials = rng.choice(CREDENTIALS)
            values = {
                "id": pk,
                "user_id": user_id,
                "printed_name": names[user_id],
                "credentials": credentials,
                "bio": f"Board member since {joined.year + rng.randint(0, 5)}.",
                "is_active": True,
                "max_active_reviews": rng.choice((3, 3, 5, 8)),
            }
            signed[user_id] = (names[user_id], credentials)
            profiles.append(ReviewerProfile(**values))
            history_id = self.ids.take(ReviewerProfile.history.model)
            profile_history.append(
                ReviewerProfile.history.model(
                    **values,
                    history_id=history_id,
                    history_date=joined,
                    history_user_id=actor,
                    history_actor_name=credits[actor][0],
                    history_actor_role=credits[actor][1],
                    history_change_reason="Board member added",
                    history_type="+",
                )
            )
            for specialty_id, _ in rng.sample(specialties, rng.choice((1, 2, 3))):
                link_id = self.ids.take(ReviewerProfile.specialties.through)
                links.append(
                    ReviewerProfile.specialties.through(id=link_id, reviewerprofile_id=pk, specialty_id=specialty_id)
                )
                link_history.append(
                    m2m_history(
                        m2m_history_id=self.ids.take(m2m_history),
                        id=link_id,
                        history_id=history_id,
                        reviewerprofile_id=pk,
                        specialty_id=specialty_id,
                    )
                )
        ReviewerProfile.objects.bulk_create(profiles, batch_size=2000)
        ReviewerProfile.history.model.objects.bulk_create(profile_history, batch_size=2000)
        ReviewerProfile.specialties.through.objects.bulk_create(links, batch_size=2000)
        m2m_history.objects.bulk_create(link_history, batch_size=2000)
        system_id = system.pk
        return People(
            system=system_id,
            editors=editors,
            auditors=auditors,
            authors=authors,
            reviewers=reviewers,
            signed=signed,
            specialties=specialties,
            credits=credits,
        )


# --- Progress and checksum -----------------------------------------------------------------------


def progress_line(stream=None):
    """A one-line progress report on stderr, rewritten in place with ``\\r``."""
    stream = stream or sys.stderr

    def report(done: int, total: int, started: float) -> None:
        elapsed = time.monotonic() - started
        rate = done / elapsed if elapsed and done else 0
        left = f", about {int((total - done) / rate)} s left" if rate and done < total else ""
        bar = "#" * int(30 * done / total) if total else ""
        stream.write(f"\r  [{bar:<30}] {done:,}/{total:,} articles, {elapsed:.0f} s{left}   ")
        if done >= total:
            stream.write("\n")
        stream.flush()

    return report


CHECKSUM_SKIPS = ("last_login", "audit_head", "audit_length")


def checksum_models() -> list:
    m2m_history = _specialties_history()
    return [
        User,
        Specialty,
        Specialty.history.model,
        ReviewerProfile,
        ReviewerProfile.history.model,
        ReviewerProfile.specialties.through,
        m2m_history,
        *INSERT_ORDER,
    ]


def _plain(value) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return repr(value)


def checksum() -> str:
    """SHA-256 over every generated table, row by row in key order (the same data, the same sum)."""
    digest = hashlib.sha256()
    for model in checksum_models():
        # The audit chain's head is the chain's, not generated data (verify_audit reads the chain).
        names = [f.attname for f in model._meta.concrete_fields if f.attname not in CHECKSUM_SKIPS]
        digest.update(model._meta.label.encode())
        for row in model.objects.order_by(model._meta.pk.attname).values_list(*names).iterator(chunk_size=5000):
            digest.update("|".join(_plain(v) for v in row).encode())
            digest.update(b"\n")
    memberships = User.groups.through.objects.order_by("user_id", "group__name").values_list("user_id", "group__name")
    for row in memberships:
        digest.update(f"{row[0]}:{row[1]}\n".encode())
    return digest.hexdigest()
