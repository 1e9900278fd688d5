import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.http import HttpRequest

from articles.models import Article, Reference, Specialty
from editorial.workflow import services


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    is_staff = True
    password = factory.django.Password("pw")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            # get_or_create: transactional tests flush the groups the data migration made.
            self.groups.add(*(Group.objects.get_or_create(name=name)[0] for name in extracted))


def make_specialty(name: str, slug: str) -> Specialty:
    from editorial.workflow.audit import set_audit_context
    from editorial.workflow.system import system_user

    specialty = Specialty(name=name, slug=slug)
    set_audit_context(specialty, actor=system_user(), reason="Test specialty")
    specialty.save()
    return specialty


def citing_body(references: int) -> str:
    """A text for clinicians that cites each of ``references`` references (the citation gate)."""
    research = {0: "", 1: "", 2: " [2]"}.get(references, f" [2-{references}]")
    guideline = " [1]" if references else ""
    return f"## From the Guidelines\n\nTreat it{guideline}.\n\n## From the Research\n\nTrials agree{research}."


def make_article(author, *, title="How is condition X treated?", references=2, **fields) -> Article:
    """A complete draft that cites every reference, created through the service as its author."""
    data = {
        "title": title,
        "summary": "A short answer.",
        "body": citing_body(references),
        "patient_body": "Most people get better.",
        **fields,
    }
    refs = [{"title": f"Source {n}", "authors": "Doe J", "year": 2020 + n} for n in range(1, references + 1)]
    return services.article_create(actor=author, fields=data, references=refs)


def reference(article, **kwargs) -> Reference:
    return Reference.objects.create(article=article, title="A source", **kwargs)


def make_board_member(username: str, printed_name: str, credentials: str, specialties=()):
    from editorial.workflow.audit import set_audit_context
    from editorial.workflow.permissions import Role
    from reviewers.models import ReviewerProfile

    user = UserFactory(username=username, roles=[Role.BOARD])
    profile = ReviewerProfile.objects.filter(user=user).first()
    if profile is None:
        profile = ReviewerProfile(user=user, printed_name=printed_name, credentials=credentials)
        set_audit_context(profile, actor=user, reason="Board member added")
        profile.save()
    if specialties:
        set_audit_context(profile, actor=user, reason="Specialties set")
        profile.specialties.add(*specialties)
    return user


def signing_request(address: str = "127.0.0.1") -> HttpRequest:
    """A request to sign in: the password is checked with it, and the lockout counts per address."""
    request = HttpRequest()
    request.META.update({"REMOTE_ADDR": address, "HTTP_USER_AGENT": "tests"})
    request.path = request.path_info = "/tests/sign/"
    return request
