"""Create the demo board: idempotent, and every demo state reached through the services."""

import os
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts import lockout, second_factor, security_log
from accounts.models import SecurityEventKind
from articles.models import Article, Specialty
from editorial.demo.content import ARTICLES, BOARD, DEMO_BACKUP_CODES, DEMO_TOTP_SECRET, SPECIALTIES, USERS
from editorial.demo.follow_up import MACHINE_DRAFTED, QUESTIONS
from editorial.models import ReaderQuestion
from editorial.workflow import board, invitations, provenance, questions, services
from editorial.workflow.audit import set_audit_context
from reviewers.models import Invitation, ReviewerProfile

User = get_user_model()


class Command(BaseCommand):
    help = "Create the demo users, board and articles (safe to run again: it adds what is missing)."

    def handle(self, *args, **options):
        password = os.environ.get("DEMO_PASSWORD")
        if password is None:
            if not settings.DEBUG:
                raise CommandError("DEBUG is off: give the demo users' password explicitly in DEMO_PASSWORD.")
            password = "demo"  # noqa: S105 - the documented demo default, DEBUG only
        self.password = password
        # Signing checks passwords through authenticate() with a request, like every door.
        self.request = lockout.command_request("seed_demo")
        secret = os.environ.get("DEMO_TOTP_SECRET") or (DEMO_TOTP_SECRET if settings.DEBUG else None)
        with transaction.atomic():
            users = self.ensure_users(password)
            if secret:
                self.ensure_second_factor(users, secret)
            specialties = self.ensure_specialties(users["editor"])
            self.ensure_board(users, specialties)
            created = [
                spec["slug"] for spec in [*ARTICLES, MACHINE_DRAFTED] if self.ensure_article(spec, users, specialties)
            ]
            asked = self.ensure_questions(users)
        self.stdout.write(
            f"Demo ready: {len(users)} users, {len(specialties)} specialties, "
            f"{len(created)} articles added ({Article.objects.count()} in all), {asked} reader questions added. "
            f"Log in at {settings.SITE_URL}/admin/ as author, reviewer1, reviewer2, editor, "
            "auditor or admin."
        )
        if secret:
            self.stdout.write(
                "Second factor of editor, auditor and admin: the code "
                "`python manage.py demo_totp <user>` prints, or any authenticator app with the secret "
                f"{secret}, or a backup code: {', '.join(DEMO_BACKUP_CODES)} (each once per account)."
            )
        else:
            self.stdout.write(
                "No demo second factor (DEBUG is off): editor, auditor and admin set one up at first login."
            )

    def ensure_users(self, password: str) -> dict:
        users = {}
        for username, first, last, roles, superuser in USERS:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={
                    "first_name": first,
                    "last_name": last,
                    "email": f"{username}@example.org",
                    "is_staff": True,
                    "is_superuser": superuser,
                },
            )
            if created:
                user.set_password(password)
                user.save(update_fields=["password"])
                security_log.record(
                    SecurityEventKind.ACCOUNT_CREATED,
                    subject=user,
                    request=self.request,
                    detail=f"demo account (seed_demo); roles: {', '.join(roles) or 'none'}"
                    + ("; operator" if superuser else ""),
                )
            # The role groups come from a migration; made here too, should they have been removed
            # (a test run's flush does): a demo account without its role could do nothing.
            user.groups.add(*(Group.objects.get_or_create(name=role)[0] for role in roles))
            users[username] = user
        return users

    def ensure_second_factor(self, users: dict, secret: str) -> None:
        """The documented demo secret and backup codes for the accounts that need a second factor.

        (Editors, auditors and operators; authors and board members are offered one on their
        account page, as everyone is.)
        """
        for user in users.values():
            if not second_factor.required_for(user):
                continue
            second_factor.set_authenticator(user, secret)
            second_factor.replace_backup_codes(user, list(DEMO_BACKUP_CODES))

    def ensure_specialties(self, actor) -> dict:
        specialties = {}
        for name, slug in SPECIALTIES:
            specialty = Specialty.objects.filter(slug=slug).first()
            if specialty is None:
                specialty = Specialty(name=name, slug=slug)
                set_audit_context(specialty, actor=actor, reason="Demo specialty")
                specialty.save()
            specialties[slug] = specialty
        return specialties

    def ensure_board(self, users: dict, specialties: dict) -> None:
        for username, (name, credentials, fields, bio) in BOARD.items():
            if ReviewerProfile.objects.filter(user=users[username]).exists():
                continue
            profile = ReviewerProfile(user=users[username], printed_name=name, credentials=credentials, bio=bio)
            set_audit_context(profile, actor=users["editor"], reason="Demo board member")
            profile.save()
            profile.specialties.add(*(specialties[slug] for slug in fields))

    def ensure_article(self, spec: dict, users: dict, specialties: dict) -> bool:
        if Article.objects.filter(slug=spec["slug"]).exists():
            return False
        fields = {key: spec[key] for key in ("title", "slug", "summary", "body", "patient_body")}
        fields["specialty"] = specialties[spec["specialty"]]
        article = services.article_create(
            actor=users["author"],
            fields=fields,
            references=spec["references"],
            reason="Demo draft",
            provenance=spec.get("provenance"),
        )
        for step in spec["steps"]:
            self.play(article, step, users)
            article.refresh_from_db()
        return True

    def play(self, article: Article, step: tuple, users: dict) -> None:
        """One step of a demo story, through the same service a person's click would call."""
        action, who, *rest = step
        actor = users[who]
        if action == "invite":
            board.invitation_create(article=article, actor=actor, reviewers=[users[name] for name in rest[0]])
        elif action == "invite_past":
            # An invitation sent days ago and never answered, so that it can expire.
            sent = timezone.now() - timedelta(days=5)
            invitations.create_invitations(
                article=article,
                reviewers=[users[name] for name in rest[0]],
                invited_by=actor,
                actor=actor,
                respond_by=sent + timedelta(days=3),
                due_at=sent + timedelta(days=17),
                reason=f"Invited to review round {article.review_round}",
            )
        elif action == "expire":
            board.invitation_expire(invitation=self.invitation(article, actor))
        elif action == "accept":
            conflict = rest[0] if isinstance(rest[0], str) else rest[0][0]
            description = "" if isinstance(rest[0], str) else rest[0][1]
            board.invitation_accept(
                invitation=self.invitation(article, actor), actor=actor, conflict=conflict, description=description
            )
        elif action == "decline":
            board.invitation_decline(invitation=self.invitation(article, actor), actor=actor, reason=rest[0])
        elif action == "review":
            recommendation, to_author, confidential = rest
            board.review_submit(
                invitation=self.invitation(article, actor),
                actor=actor,
                recommendation=recommendation,
                checklist={
                    "claims_accurate": True,
                    "doses_checked": True,
                    "references_support": True,
                    "language_fits_audience": recommendation == "approve",
                    "machine_passages_verified": recommendation == "approve"
                    and provenance.is_machine_drafted(article.current_version),
                },
                comments_to_author=to_author,
                confidential_comments=confidential,
                password=self.password,
                request=self.request,
            )
        elif action == "edit":
            services.article_update(
                article=article, expected_row_version=article.row_version, actor=actor, fields=rest[0], reason=rest[1]
            )
        else:
            services.article_transition(
                article=article, actor=actor, name=action, reason=rest[0], password=self.password, request=self.request
            )

    def ensure_questions(self, users: dict) -> int:
        """Readers' questions on the demo pages (asked through the same service as the form)."""
        added = 0
        for slug, text, commissioned in QUESTIONS:
            if ReaderQuestion.objects.filter(text=text).exists():
                continue
            question = questions.question_ask(article=Article.objects.get(slug=slug), text=text)
            if commissioned:
                questions.question_commission(
                    question=question, actor=users["editor"], reason="A common next question: worth an article."
                )
            added += 1
        return added

    @staticmethod
    def invitation(article: Article, reviewer) -> Invitation:
        return Invitation.objects.filter(article=article, reviewer=reviewer).latest("invited_at", "id")
