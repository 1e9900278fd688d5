"""The account the system acts as when no person does (the beat expiring an invitation)."""

from django.contrib.auth import get_user_model

SYSTEM_USERNAME = "editorial-system"


def system_user():
    """An inactive account that cannot log in: history names it where the system acted."""
    user, created = get_user_model().objects.get_or_create(
        username=SYSTEM_USERNAME,
        defaults={"first_name": "Editorial", "last_name": "system", "is_active": False},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user
