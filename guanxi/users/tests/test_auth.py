"""Logging in and out, lockout, passwords, language, API tokens and the handover page."""

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from guanxi.customers.models import Customer
from guanxi.customers.tests.factories import CustomerFactory
from guanxi.users.models import ApiToken, User
from guanxi.users.services import api_token_authenticate, api_token_create

pytestmark = pytest.mark.django_db

PASSWORD = "guanxi-demo"  # the factories' password
LOGIN = "/login/"


@pytest.fixture(autouse=True)
def _english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


def _login(client, username, password=PASSWORD):
    return client.post(LOGIN, {"username": username, "password": password})


def _logged_in_as(client) -> int | None:
    value = client.session.get("_auth_user_id")
    return int(value) if value else None


def _html_lang(response) -> str:
    match = re.search(r'<html lang="([^"]+)"', response.content.decode())
    assert match
    return match.group(1)


# --- log in and out -------------------------------------------------------------------------


def test_login_with_the_right_password_opens_the_home_page(client, users):
    response = _login(client, "rep1")
    assert response.status_code == 302
    assert response["Location"] == reverse("core:home")
    assert _logged_in_as(client) == users["rep1"].pk
    assert client.get("/").status_code == 200


def test_login_with_a_wrong_password_is_refused_and_counted(client, users):
    response = _login(client, "rep1", "wrong")
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert _logged_in_as(client) is None
    assert User.objects.get(username="rep1").failed_login_count == 1


def test_logout_ends_the_session(client, users):
    _login(client, "rep1")
    response = client.post(reverse("users:logout"))
    assert response.status_code == 302
    assert response["Location"] == reverse("users:login")
    assert _logged_in_as(client) is None
    assert client.get("/").status_code == 302


def test_pages_need_a_login_but_the_login_page_and_healthz_do_not(client, db):
    assert client.get("/customers/").status_code == 302
    assert client.get(LOGIN).status_code == 200
    assert client.get("/healthz").status_code == 200


# --- lockout --------------------------------------------------------------------------------


def test_lockout_after_too_many_failures_even_with_the_right_password(client, users, settings):
    # given the lockout threshold
    attempts = settings.LOGIN_LOCKOUT_ATTEMPTS
    # when the password is guessed wrongly that many times (any letter case of the name)
    for i in range(attempts):
        _login(client, "REP1" if i % 2 else "rep1", f"wrong{i}")
    rep1 = User.objects.get(username="rep1")
    assert rep1.locked_until is not None
    assert rep1.locked_until > timezone.now()
    # then even the right password is refused with the lock message
    response = _login(client, "rep1")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Too many failed logins. This account is locked for" in html
    assert f"{settings.LOGIN_LOCKOUT_MINUTES} minutes" in html
    assert _logged_in_as(client) is None
    # other accounts are not affected
    assert _login(client, "rep2").status_code == 302


def test_one_failure_fewer_than_the_limit_does_not_lock(client, users, settings):
    for _ in range(settings.LOGIN_LOCKOUT_ATTEMPTS - 1):
        _login(client, "rep1", "wrong")
    assert _login(client, "rep1").status_code == 302
    rep1 = User.objects.get(username="rep1")
    assert rep1.locked_until is None
    assert rep1.failed_login_count == 0  # a success resets the count


def test_the_lock_expires(client, users, settings):
    for _ in range(settings.LOGIN_LOCKOUT_ATTEMPTS):
        _login(client, "rep1", "wrong")
    assert "locked" in _login(client, "rep1").content.decode()
    # when the lock time has passed
    User.objects.filter(username="rep1").update(locked_until=timezone.now() - timedelta(seconds=1))
    # then the right password works again and the lock is cleared
    response = _login(client, "rep1")
    assert response.status_code == 302
    assert _logged_in_as(client) == users["rep1"].pk
    rep1 = User.objects.get(username="rep1")
    assert rep1.locked_until is None
    assert rep1.failed_login_count == 0


# --- passwords ------------------------------------------------------------------------------


def test_password_change(client, users):
    client.force_login(users["rep1"])
    url = reverse("users:password-change")
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "old_password": PASSWORD,
            "new_password1": "Xin-mima-2025!",
            "new_password2": "Xin-mima-2025!",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/profile/"
    client.logout()
    assert _login(client, "rep1", PASSWORD).status_code == 200
    assert _login(client, "rep1", "Xin-mima-2025!").status_code == 302


def test_password_change_with_the_wrong_old_password_changes_nothing(client, users):
    client.force_login(users["rep1"])
    response = client.post(
        reverse("users:password-change"),
        {
            "old_password": "nope",
            "new_password1": "Xin-mima-2025!",
            "new_password2": "Xin-mima-2025!",
        },
    )
    assert response.status_code == 200
    assert User.objects.get(username="rep1").check_password(PASSWORD)


def test_password_reset_by_email_and_the_link_works(client, users, settings):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    mail.outbox = []
    # when rep1 asks for a reset
    response = client.post(reverse("users:password-reset"), {"email": "rep1@example.com"})
    assert response.status_code == 302
    assert response["Location"] == "/password-reset/sent/"
    # then one e-mail with a link is sent to rep1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["rep1@example.com"]
    assert "rep1" in message.body
    link = re.search(r"https?://[^/\s]+(/password-reset/\S+/\S+/)", message.body).group(1)
    # and the link leads to a form that sets a new password
    response = client.get(link, follow=True)
    assert response.status_code == 200
    assert response.context["validlink"] is True
    set_password_url = response.redirect_chain[-1][0]
    response = client.post(
        set_password_url,
        {"new_password1": "Chongzhi-2025!", "new_password2": "Chongzhi-2025!"},
    )
    assert response.status_code == 302
    assert response["Location"] == "/password-reset/done/"
    assert _login(client, "rep1", "Chongzhi-2025!").status_code == 302
    # a used link does not work twice
    client.logout()
    response = client.get(link, follow=True)
    assert response.context["validlink"] is False


def test_password_reset_for_an_unknown_address_sends_nothing(client, users, settings):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    mail.outbox = []
    response = client.post(reverse("users:password-reset"), {"email": "nobody@example.com"})
    assert response.status_code == 302  # no hint whether the address exists
    assert mail.outbox == []


# --- language -------------------------------------------------------------------------------


def test_language_switch_for_anonymous_visitors(client, db):
    client.defaults.pop("HTTP_ACCEPT_LANGUAGE")
    assert _html_lang(client.get(LOGIN)) == "zh-hans"  # the default
    response = client.post("/language/", {"language": "en", "next": LOGIN})
    assert response.status_code == 302
    assert response["Location"] == LOGIN
    page = client.get(LOGIN)
    assert _html_lang(page) == "en"
    assert "Log in" in page.content.decode()
    client.post("/language/", {"language": "zh-hans", "next": LOGIN})
    page = client.get(LOGIN)
    assert _html_lang(page) == "zh-hans"
    assert "登录" in page.content.decode()


def test_language_switch_is_stored_on_the_user(client, users):
    client.force_login(users["rep1"])
    client.post("/language/", {"language": "zh-hans", "next": "/"})
    assert User.objects.get(username="rep1").language == "zh-hans"
    assert _html_lang(client.get("/")) == "zh-hans"
    client.post("/language/", {"language": "en", "next": "/"})
    assert User.objects.get(username="rep1").language == "en"
    assert _html_lang(client.get("/")) == "en"


def test_language_switch_ignores_unknown_languages_and_foreign_next_urls(client, users):
    client.force_login(users["rep1"])
    response = client.post("/language/", {"language": "klingon", "next": "https://evil.example/"})
    assert response["Location"] == "/"
    assert User.objects.get(username="rep1").language == ""


@pytest.mark.parametrize(("language", "browser"), [("en", "zh-hans"), ("zh-hans", "en")])
def test_the_users_profile_language_wins_over_the_browser(client, users, language, browser):
    User.objects.filter(username="rep1").update(language=language)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = browser
    client.force_login(User.objects.get(username="rep1"))
    assert _html_lang(client.get("/")) == language


def test_saving_the_profile_language_switches_the_pages(client, users):
    client.force_login(users["rep1"])
    response = client.post(
        reverse("users:profile"),
        {
            "profile-display_name": "小王",
            "profile-email": "rep1@example.com",
            "profile-mobile": "",
            "profile-language": "zh-hans",
            "profile-time_zone": "Asia/Shanghai",
        },
    )
    assert response.status_code == 302
    assert User.objects.get(username="rep1").language == "zh-hans"
    assert _html_lang(client.get("/")) == "zh-hans"


# --- API tokens -----------------------------------------------------------------------------


def test_a_token_is_shown_once_stored_hashed_and_authenticates(client, users):
    client.force_login(users["rep1"])
    # when rep1 creates a token on the profile page
    response = client.post(reverse("users:token-create"), {"token-name": "ERP 同步"})
    assert response.status_code == 200
    secret = re.search(r'<code id="new-token">([^<]+)</code>', response.content.decode()).group(1)
    # then it is stored only as a hash, with its first characters for recognition
    token = ApiToken.objects.get(user=users["rep1"])
    assert token.name == "ERP 同步"
    assert token.key_hash != secret
    assert secret not in token.key_hash
    assert len(token.key_hash) == 64
    assert token.prefix == secret[:10]
    # it is not shown again
    assert secret not in client.get(reverse("users:profile")).content.decode()
    # and it authenticates as rep1, recording its use
    assert api_token_authenticate(secret) == users["rep1"]
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_a_token_without_a_name_is_not_created(client, users):
    client.force_login(users["rep1"])
    response = client.post(reverse("users:token-create"), {"token-name": ""}, follow=True)
    assert "Give the token a name." in response.content.decode()
    assert not ApiToken.objects.exists()


def test_revoking_a_token_stops_it_and_only_the_owner_can(client, users):
    token, secret = api_token_create(user=users["rep1"], name="CLI")
    url = reverse("users:token-revoke", args=[token.pk])
    # rep2 cannot revoke rep1's token
    client.force_login(users["rep2"])
    response = client.post(url, follow=True)
    assert "No such active token." in response.content.decode()
    assert api_token_authenticate(secret) == users["rep1"]
    # rep1 can
    client.force_login(users["rep1"])
    response = client.post(url, follow=True)
    assert "The token was revoked" in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert api_token_authenticate(secret) is None


@pytest.mark.parametrize("secret", ["", "gx_", "gx_wrong", "Bearer x", "x" * 100])
def test_unknown_secrets_do_not_authenticate(users, secret):
    api_token_create(user=users["rep1"], name="CLI")
    assert api_token_authenticate(secret) is None


def test_a_token_of_a_deactivated_user_does_not_authenticate(users):
    _token, secret = api_token_create(user=users["rep1"], name="CLI")
    User.objects.filter(username="rep1").update(is_active=False)
    assert api_token_authenticate(secret) is None


def test_the_api_token_command_prints_a_working_token(users):
    out = StringIO()
    call_command("api_token", "rep1", "--name", "脚本", stdout=out)
    secret = out.getvalue().strip()
    assert secret.startswith("gx_")
    assert api_token_authenticate(secret) == users["rep1"]
    assert ApiToken.objects.get(user=users["rep1"]).name == "脚本"
    with pytest.raises(CommandError):
        call_command("api_token", "nobody", stdout=StringIO())


# --- handover page --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"), [("admin", 200), ("manager", 403), ("rep1", 403), ("partner1", 403)]
)
def test_the_handover_page_needs_manage_users(client, users, role, status):
    client.force_login(users[role])
    assert client.get(reverse("users:handover")).status_code == status


def test_a_rep_cannot_post_a_handover(client, users):
    CustomerFactory(owner=users["rep2"])
    client.force_login(users["rep1"])
    response = client.post(
        reverse("users:handover"), {"from_user": users["rep2"].pk, "to_users": [users["rep1"].pk]}
    )
    assert response.status_code == 403
    assert Customer.objects.get().owner == users["rep2"]


def test_the_administrator_hands_over_a_departing_user(client, users):
    for _ in range(3):
        CustomerFactory(owner=users["rep1"])
    client.force_login(users["admin"])
    # choosing only the departing user shows how many customers they own
    preview = client.post(reverse("users:handover"), {"from_user": users["rep1"].pk})
    assert preview.status_code == 200
    assert preview.context["owned_count"] == 3
    assert "This user owns 3 customers." in preview.content.decode()
    response = client.post(
        reverse("users:handover"),
        {
            "from_user": users["rep1"].pk,
            "to_users": [users["rep2"].pk, users["rep3"].pk],
            "deactivate": "on",
        },
        follow=True,
    )
    assert "3 customers were handed over." in response.content.decode()
    assert sorted(Customer.objects.values_list("owner__username", flat=True)) == [
        "rep2",
        "rep2",
        "rep3",
    ]
    assert User.objects.get(username="rep1").is_active is False


def test_handover_to_oneself_is_refused_on_the_form(client, users):
    CustomerFactory(owner=users["rep1"])
    client.force_login(users["admin"])
    response = client.post(
        reverse("users:handover"),
        {"from_user": users["rep1"].pk, "to_users": [users["rep1"].pk]},
    )
    assert response.status_code == 200
    assert "A user cannot hand over to themselves." in response.content.decode()
    assert Customer.objects.get().owner == users["rep1"]


def test_clearing_the_profile_language_follows_the_browser_again(client, users):
    client.force_login(users["rep1"])
    client.post("/language/", {"language": "zh-hans", "next": "/"})
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    client.post(
        reverse("users:profile"),
        {
            "profile-display_name": "小王",
            "profile-email": "rep1@example.com",
            "profile-language": "",
            "profile-time_zone": "Asia/Shanghai",
        },
    )
    assert User.objects.get(username="rep1").language == ""
    assert _html_lang(client.get("/")) == "en"


def test_failures_older_than_the_lockout_window_do_not_count(client, users, settings):
    # given rep1 failed to log in LOGIN_LOCKOUT_ATTEMPTS - 1 times, a long time ago
    from datetime import timedelta

    from django.utils import timezone

    from guanxi.users.models import User

    rep = users["rep1"]
    for _ in range(settings.LOGIN_LOCKOUT_ATTEMPTS - 1):
        client.post("/login/", {"username": "rep1", "password": "wrong"})
    User.objects.filter(pk=rep.pk).update(
        last_failed_login_at=timezone.now() - timedelta(minutes=settings.LOGIN_LOCKOUT_MINUTES + 1)
    )
    # when one more wrong password is typed today
    client.post("/login/", {"username": "rep1", "password": "wrong"})
    # then the account is not locked: the streak started again
    rep.refresh_from_db()
    assert rep.locked_until is None
    assert rep.failed_login_count == 1
    assert (
        client.post("/login/", {"username": "rep1", "password": "guanxi-demo"}).status_code == 302
    )


def test_the_handover_moves_open_leads_and_opportunities_too(client, users):
    from guanxi.sales.models import Lead, Opportunity
    from guanxi.sales.services import opportunity_create
    from guanxi.sales.tests.factories import LeadFactory

    customer = CustomerFactory(owner=users["rep1"])
    LeadFactory.create_batch(2, owner=users["rep1"])
    LeadFactory(owner=users["rep1"], status=Lead.Status.CONVERTED)  # closed: stays
    opportunity_create(
        actor=users["rep1"], data={"name": "年度采购", "customer": customer, "amount": "100000"}
    )
    client.force_login(users["admin"])
    preview = client.post(reverse("users:handover"), {"from_user": users["rep1"].pk})
    assert (preview.context["lead_count"], preview.context["opportunity_count"]) == (2, 1)
    response = client.post(
        reverse("users:handover"),
        {"from_user": users["rep1"].pk, "to_users": [users["rep2"].pk]},
        follow=True,
    )
    html = response.content.decode()
    assert "2 open leads were handed over." in html
    assert "1 open opportunity was handed over." in html
    assert Lead.objects.filter(owner=users["rep2"]).count() == 2
    assert Opportunity.objects.get().owner == users["rep2"]
