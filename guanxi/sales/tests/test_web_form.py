"""The public web-to-lead form: capture, consent, validation and abuse protection."""

import re

import pytest
from django.core import signing

from guanxi.customers.tests.factories import ChannelFactory
from guanxi.sales import public
from guanxi.sales.models import Lead, WebForm
from guanxi.sales.tests.factories import AssignmentRuleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(client):
    """A visitor whose browser asks for English (the messages below are checked in it)."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def web_form(users):
    return WebForm.objects.create(
        name="官网咨询",
        title="联系我们",
        consent_text="我同意贵公司使用以上信息与我联系。",
        thanks="谢谢，我们会尽快与您联系。",
        channel=ChannelFactory(name="官网"),
        campaign="2026 春季工业展",
    )


@pytest.fixture
def humans(monkeypatch):
    """Submissions count as human however fast the test posts them."""
    monkeypatch.setattr(public, "MIN_SECONDS", 0)


def _url(form: WebForm) -> str:
    return f"/f/{form.key}/"


def _post(client, form, **overrides):
    page = client.get(_url(form)).content.decode()
    token = re.search(r'name="started" value="([^"]+)"', page).group(1)
    data = {
        "name": "王芳",
        "company": "苏州恒瑞电子有限公司",
        "mobile": "139 1234 5678",
        "email": "wang@hengrui.cn",
        "province": "江苏省",
        "city": "苏州市",
        "message": "想了解报价",
        "consent": "on",
        "website": "",
        "started": token,
    }
    data.update(overrides)
    return client.post(_url(form), {k: v for k, v in data.items() if v is not None})


def test_the_form_is_public_and_embeddable(client, web_form):
    response = client.get(_url(web_form))
    assert response.status_code == 200
    html = response.content.decode()
    assert "联系我们" in html and "我同意贵公司使用以上信息与我联系。" in html
    assert "X-Frame-Options" not in response.headers


def test_an_unknown_or_inactive_form_is_404(client, web_form):
    assert client.get("/f/nope/").status_code == 404
    WebForm.objects.filter(pk=web_form.pk).update(is_active=False)
    assert client.get(_url(web_form)).status_code == 404


def test_fields_not_asked_for_are_not_shown(client, web_form):
    WebForm.objects.filter(pk=web_form.pk).update(ask_company=False, ask_region=False)
    html = client.get(_url(web_form)).content.decode()
    assert 'name="company"' not in html and 'name="city"' not in html
    assert 'name="mobile"' in html


def test_a_submission_becomes_a_routed_lead_with_consent(client, web_form, users, humans):
    AssignmentRuleFactory(name="苏州", province="江苏省", city="苏州市", user=users["rep1"])
    response = _post(client, web_form)
    assert response.status_code == 200
    assert "谢谢，我们会尽快与您联系。" in response.content.decode()
    lead = Lead.objects.get()
    assert (lead.name, lead.mobile, lead.source) == ("王芳", "13912345678", "form")
    assert (lead.channel, lead.campaign, lead.notes) == (
        web_form.channel,
        "2026 春季工业展",
        "想了解报价",
    )
    assert lead.owner == users["rep1"]
    assert lead.consent_at is not None


def test_the_form_owner_takes_its_leads(client, web_form, users, humans):
    WebForm.objects.filter(pk=web_form.pk).update(owner=users["rep2"])
    _post(client, web_form)
    assert Lead.objects.get().owner == users["rep2"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"consent": None}, "Please tick the box"),
        ({"mobile": "", "email": ""}, "so we can reply"),
        ({"mobile": "12345"}, ""),
        ({"name": ""}, ""),
        ({"email": "not-mail"}, ""),
    ],
)
def test_bad_input_is_shown_and_saves_nothing(client, web_form, humans, overrides, message):
    response = _post(client, web_form, **overrides)
    assert response.status_code == 400
    assert 'class="errorlist' in response.content.decode()
    if message:
        assert message in response.content.decode()
    assert not Lead.objects.exists()


def test_a_filled_honeypot_is_thanked_and_dropped(client, web_form, humans):
    response = _post(client, web_form, website="http://spam.example")
    assert response.status_code == 200
    assert not Lead.objects.exists()


def test_a_submission_faster_than_a_human_is_dropped(client, web_form):
    response = _post(client, web_form)  # posted at once after the page was served
    assert response.status_code == 200
    assert not Lead.objects.exists()


def test_a_forged_or_stale_page_must_be_sent_again(client, web_form, humans):
    forged = signing.dumps({"k": "other", "t": 0}, salt="x")
    response = _post(client, web_form, started=forged)
    assert response.status_code == 400
    assert "open too long" in response.content.decode()
    assert not Lead.objects.exists()
    # the page carries a fresh token with the visitor's input kept
    assert "王芳" in response.content.decode()


def test_too_many_submissions_from_one_address_are_refused(client, web_form, humans, settings):
    settings.WEB_FORM_SUBMISSIONS_PER_10_MINUTES = 2
    for i in range(2):
        assert _post(client, web_form, mobile=f"1391234000{i}").status_code == 200
    response = _post(client, web_form, mobile="13912340009")
    assert response.status_code == 429
    assert Lead.objects.count() == 2
