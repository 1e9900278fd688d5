"""The second factor: TOTP (RFC 6238) and one-use backup codes, with django-otp.

Required for superusers and for the roles in ``ACCOUNTS_SECOND_FACTOR_GROUPS`` (editors and
auditors), offered to everyone else: whoever has set one up must use it at every login.
A wrong code counts as a failed login (``accounts.lockout``). OWASP ASVS 5.0 §6.4-6.6.
"""

import time
from base64 import b32decode, b32encode
from io import BytesIO

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.db import transaction
from django_otp import devices_for_user, user_has_device
from django_otp import login as otp_login
from django_otp.oath import TOTP, hotp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import identity, lockout

#: Set at login: whether the account had a second factor then (so this session must show it).
DEVICE_AT_LOGIN_KEY = "accounts_device_at_login"
BACKUP_CODE_COUNT = 10
AUTHENTICATOR = "Authenticator app"
BACKUP = "Backup codes"


def required_for(user) -> bool:
    """Whether ``user`` must use a second factor: superusers and the required roles."""
    if user is None or not user.is_authenticated:
        return False
    return user.is_superuser or not identity.group_names(user).isdisjoint(settings.ACCOUNTS_SECOND_FACTOR_GROUPS)


def has_device(user) -> bool:
    """Whether ``user`` has a confirmed second factor (an authenticator or backup codes)."""
    return user_has_device(user, confirmed=True)


def note_login(request, user) -> None:
    """At login: remember whether this account had a second factor (read by ``satisfied``)."""
    request.session[DEVICE_AT_LOGIN_KEY] = has_device(user)


def satisfied(request) -> bool:
    """Whether this session may use the workspace and the API: the second factor is shown.

    A session verified with a device always may; otherwise only when the account neither
    requires a second factor nor had one set up when it logged in.
    """
    user = request.user
    if not user.is_authenticated:
        return False
    if user.is_verified():
        return True
    return not required_for(user) and not request.session.get(DEVICE_AT_LOGIN_KEY, True)


def mark_verified(request, device) -> None:
    """This session has shown ``device``: a new session key (re-authentication) and the mark."""
    request.session.cycle_key()
    otp_login(request, device)


def verify(request, user, code: str):
    """The device of ``user`` that accepts ``code`` (a TOTP code or an unused backup code), or None.

    A refusal counts as a failed login for the lockout. Each device throttles its own
    failures (django-otp), and a TOTP code is accepted once.
    """
    code = "".join((code or "").split()).lower()
    matched = None
    if code:
        with transaction.atomic():
            for device in devices_for_user(user, confirmed=True, for_verify=True):
                if device.verify_token(code):
                    matched = device
                    break
    if matched is None:
        lockout.count_failure(request, user.get_username())
    return matched


# --- Setting one up --------------------------------------------------------------------


def pending_authenticator(user) -> TOTPDevice:
    """The unconfirmed authenticator being set up for ``user`` (made on first call)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=AUTHENTICATOR, confirmed=False)
    return device


def secret_of(device: TOTPDevice) -> str:
    """The shared secret as authenticator apps take it by hand: base32, in groups of four."""
    raw = b32encode(device.bin_key).decode()
    return " ".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def qr_svg(device: TOTPDevice) -> str:
    """The ``otpauth://`` address of ``device`` as an SVG QR code (markup without style attributes)."""
    out = BytesIO()
    qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8).save(out)
    return out.getvalue().decode()


def confirm_authenticator(request, device: TOTPDevice, code: str) -> list[str] | None:
    """Confirm a pending authenticator with its first code; returns new backup codes, or None.

    On success the account's other authenticators are replaced, the session is marked as
    verified and the act is logged. A wrong code counts as a failed login.
    """
    user = device.user
    code = "".join((code or "").split())
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().get(pk=device.pk)
        if not device.verify_token(code):
            matched = False
        else:
            TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            matched = True
    if not matched:
        lockout.count_failure(request, user.get_username())
        return None
    codes = replace_backup_codes(user)
    mark_verified(request, device)
    return codes


def replace_backup_codes(user, codes: list[str] | None = None) -> list[str]:
    """Give ``user`` a fresh set of one-use backup codes (random unless given); returns them."""
    codes = codes or [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
    with transaction.atomic():
        device, _ = StaticDevice.objects.get_or_create(user=user, name=BACKUP, defaults={"confirmed": True})
        device.token_set.all().delete()
        StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def remove_all(user) -> int:
    """Remove every second factor of ``user`` (an operator's reset after a lost phone)."""
    removed = TOTPDevice.objects.filter(user=user).delete()[0]
    return removed + StaticDevice.objects.filter(user=user).delete()[0]


# --- The demo's documented secret, and codes for tests and newcomers ---------------------------


def set_authenticator(user, secret: str) -> TOTPDevice:
    """Give ``user`` a confirmed authenticator with this base32 ``secret`` (the demo's documented one)."""
    key = b32decode(secret.replace(" ", "").upper()).hex()
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        return TOTPDevice.objects.create(user=user, name=AUTHENTICATOR, key=key, confirmed=True)
    if device.key != key:
        device.key = key
        device.save(update_fields=["key"])
    return device


def current_code(device: TOTPDevice, *, wait: bool = True) -> str | None:
    """A code ``device`` accepts now: the earliest time step in its window it has not used.

    Every code is accepted once, so a second login within the same 30 s takes the next
    step's code (within the tolerance); when none is left, waits for the next step, or
    returns None if ``wait`` is false.
    """
    while True:
        device.refresh_from_db()
        now = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).t()
        usable = [t for t in range(now - device.tolerance, now + device.tolerance + 1) if t > device.last_t]
        if usable:
            return str(hotp(device.bin_key, usable[0], digits=device.digits)).zfill(device.digits)
        if not wait:
            return None
        time.sleep(device.step - (time.time() - device.t0) % device.step + 0.05)
