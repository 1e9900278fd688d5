"""Create the demo board: idempotent, and every demo state reached through the services."""

import os

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from articles.models import Article, Specialty
from editorial import services
from editorial.audit import set_audit_context
from editorial.demo.content import ARTICLES, SPECIALTIES, USERS

User = get_user_model()


class Command(BaseCommand):
    help = "Create the demo users and articles (safe to run again: it adds what is missing)."

    def handle(self, *args, **options):
        password = os.environ.get("DEMO_PASSWORD")
        if password is None:
            if not settings.DEBUG:
                raise CommandError("DEBUG is off: give the demo users' password explicitly in DEMO_PASSWORD.")
            password = "demo"  # noqa: S105 - the documented demo default, DEBUG only
        with transaction.atomic():
            users = self.ensure_users(password)
            specialties = self.ensure_specialties(users["editor"])
            created = [spec["slug"] for spec in ARTICLES if self.ensure_article(spec, users, specialties)]
        self.stdout.write(
            f"Demo ready: {len(users)} users, {len(specialties)} specialties, "
            f"{len(created)} articles added ({Article.objects.count()} in all). "
            f"Log in at {settings.SITE_URL}/admin/ as author, reviewer1, reviewer2, editor, "
            "auditor or admin."
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
            user.groups.add(*Group.objects.filter(name__in=roles))
            users[username] = user
        return users

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

    def ensure_article(self, spec: dict, users: dict, specialties: dict) -> bool:
        if Article.objects.filter(slug=spec["slug"]).exists():
            return False
        fields = {key: spec[key] for key in ("title", "slug", "summary", "body", "patient_body")}
        fields["specialty"] = specialties[spec["specialty"]]
        article = services.article_create(
            actor=users["author"], fields=fields, references=spec["references"], reason="Demo draft"
        )
        for name, actor, reason in spec["steps"]:
            article = services.article_transition(article=article, actor=users[actor], name=name, reason=reason)
        return True
