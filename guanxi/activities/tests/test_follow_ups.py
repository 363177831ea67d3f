"""Follow-ups: plan, complete with the next one, record, cancel; My day; team progress;
the daily digest; who may do what."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from guanxi.activities import selectors, services
from guanxi.activities.models import AuditEntry, FollowUp, Notification
from guanxi.customers.tests.factories import CustomerFactory
from guanxi.sales.models import Lead
from guanxi.sales.tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

# 10:00 in Shanghai on a fixed day
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


@pytest.fixture
def customer(users):
    return CustomerFactory(owner=users["rep1"], name="杭州万华化工有限公司")


def _plan(users, customer, hours, who="rep1"):
    return services.follow_up_plan(
        actor=users[who], customer=customer, method="call", due_at=NOW + timedelta(hours=hours)
    )


# --- services -------------------------------------------------------------------------------


def test_planning_shows_on_the_customer_timeline(users, customer):
    follow_up = _plan(users, customer, 3)
    assert follow_up.owner == users["rep1"] and follow_up.is_open
    entry = AuditEntry.objects.get(customer_id=customer.pk, action="plan")
    assert entry.changes["follow_up"][1].endswith("2026-11-23 13:00")  # due, in local time


def test_a_follow_up_is_about_exactly_one_customer_or_lead(users, customer):
    with pytest.raises(ValidationError):
        services.follow_up_plan(actor=users["rep1"], method="call", due_at=NOW)
    with pytest.raises(ValidationError):
        services.follow_up_plan(
            actor=users["rep1"],
            customer=customer,
            lead=LeadFactory(owner=users["rep1"]),
            method="call",
            due_at=NOW,
        )
    with pytest.raises(ValidationError) as exc:
        services.follow_up_plan(actor=users["rep1"], customer=customer, method="fax", due_at=NOW)
    assert "method" in exc.value.message_dict
    assert not FollowUp.objects.exists()


def test_completing_records_the_outcome_and_plans_the_next(users, customer):
    follow_up = _plan(users, customer, -1)
    following = services.follow_up_complete(
        actor=users["rep1"],
        follow_up=follow_up,
        outcome="interested",
        summary="要报价",
        duration_minutes=12,
        next_due_at=timezone.now() + timedelta(days=2),
        next_method="visit",
        next_plan="上门演示",
    )
    follow_up.refresh_from_db()
    assert follow_up.done_at is not None and follow_up.outcome == "interested"
    assert following is not None and following.is_open
    assert (following.method, following.plan, following.owner) == (
        "visit",
        "上门演示",
        users["rep1"],
    )
    assert AuditEntry.objects.filter(customer_id=customer.pk, action="follow_up").count() == 1


def test_completing_needs_an_outcome_and_happens_once(users, customer):
    follow_up = _plan(users, customer, -1)
    with pytest.raises(ValidationError):
        services.follow_up_complete(actor=users["rep1"], follow_up=follow_up, outcome="meh")
    follow_up.refresh_from_db()
    assert follow_up.is_open
    services.follow_up_complete(actor=users["rep1"], follow_up=follow_up, outcome="reached")
    with pytest.raises(ValidationError):
        services.follow_up_complete(actor=users["rep1"], follow_up=follow_up, outcome="reached")


def test_a_follow_up_cannot_be_done_in_the_future(users, customer):
    with pytest.raises(ValidationError) as exc:
        services.follow_up_record(
            actor=users["rep1"],
            customer=customer,
            method="call",
            outcome="reached",
            done_at=timezone.now() + timedelta(days=1),
        )
    assert "done_at" in exc.value.message_dict


def test_recording_a_call_on_a_new_lead_puts_it_to_work(users):
    lead = LeadFactory(owner=users["rep1"])
    services.follow_up_record(
        actor=users["rep1"], lead=lead, method="call", outcome="reached", summary="有意向"
    )
    lead.refresh_from_db()
    assert lead.status == Lead.Status.WORKING
    assert AuditEntry.objects.filter(
        subject_type="lead", subject_id=lead.pk, action="update", changes__status=["new", "working"]
    ).exists()


def test_cancel(users, customer):
    follow_up = _plan(users, customer, 5)
    services.follow_up_cancel(actor=users["rep1"], follow_up=follow_up, reason="客户出差")
    follow_up.refresh_from_db()
    assert not follow_up.is_open
    with pytest.raises(ValidationError):
        services.follow_up_cancel(actor=users["rep1"], follow_up=follow_up)


# --- My day and team progress --------------------------------------------------------------


def test_my_day_sorts_follow_ups_into_overdue_today_upcoming_and_done(users, customer):
    with timezone.override("Asia/Shanghai"):
        overdue = _plan(users, customer, -30)
        today = _plan(users, customer, 4)
        upcoming = _plan(users, customer, 50)
        _plan(users, customer, 24 * 10)  # beyond the week
        done = _plan(users, customer, 1)
        FollowUp.objects.filter(pk=done.pk).update(done_at=NOW + timedelta(minutes=5))
        _plan(users, customer, 2, who="rep2")  # someone else's
        day = selectors.my_day(user=users["rep1"], now=NOW)
    assert day.overdue == [overdue]
    assert day.today == [today]
    assert day.upcoming == [upcoming]
    assert [f.pk for f in day.done_today] == [done.pk]


def test_team_progress_counts_planned_done_and_missed(users, customer):
    with timezone.override("Asia/Shanghai"):
        _plan(users, customer, -30)  # missed
        done = _plan(users, customer, 1)
        FollowUp.objects.filter(pk=done.pk).update(done_at=NOW)
        _plan(users, customer, 3)
        rows = selectors.team_progress(users=[users["rep1"], users["rep2"]], now=NOW)
    assert [(r.planned_today, r.done_today, r.overdue) for r in rows] == [(2, 1, 1), (0, 0, 0)]


# --- pages and access ------------------------------------------------------------------------


def _as(client, user):
    client.force_login(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def _plan_post(client, customer):
    return client.post(
        reverse("activities:follow-up-plan"),
        {"customer": customer.pk, "method": "call", "due_at": "2030-01-02T10:00", "plan": "回访"},
    )


@pytest.mark.parametrize(
    ("role", "status", "created"),
    [
        ("rep1", 302, True),
        ("manager", 302, True),
        ("admin", 302, True),
        ("rep2", 404, False),
        ("exec1", 403, False),
        ("agent1", 403, False),
    ],
)
def test_who_may_plan_a_follow_up(client, users, customer, role, status, created):
    response = _plan_post(_as(client, users[role]), customer)
    assert response.status_code == status
    assert FollowUp.objects.exists() is created


def test_bad_plan_input_is_said_and_saves_nothing(client, users, customer):
    client = _as(client, users["rep1"])
    response = client.post(
        reverse("activities:follow-up-plan"),
        {"customer": customer.pk, "method": "call", "due_at": "not a date"},
        follow=True,
    )
    assert response.status_code == 200
    assert "due_at" in response.content.decode()
    assert not FollowUp.objects.exists()
    assert client.post(reverse("activities:follow-up-plan"), {"customer": "x"}).status_code == 404


@pytest.mark.parametrize(
    ("role", "status"), [("rep1", 200), ("manager", 200), ("rep2", 404), ("exec1", 403)]
)
def test_who_may_complete_a_follow_up(client, users, customer, role, status):
    follow_up = _plan(users, customer, -1)
    url = reverse("activities:follow-up-complete", args=[follow_up.pk])
    assert _as(client, users[role]).get(url).status_code == status


def test_completing_in_the_browser_plans_the_next_one(client, users, customer):
    follow_up = _plan(users, customer, -1)
    client = _as(client, users["rep1"])
    url = reverse("activities:follow-up-complete", args=[follow_up.pk])
    response = client.post(
        url,
        {
            "outcome": "appointment",
            "summary": "约好下周拜访",
            "next_due_at": "2030-01-02T10:00",
            "next_method": "visit",
            "back": "my-day",
        },
    )
    assert response.status_code == 302 and response["Location"] == reverse("activities:my-day")
    assert FollowUp.objects.filter(done_at__isnull=True, method="visit").count() == 1
    # a next date in the past is refused on the form
    again = _plan(users, customer, -1)
    response = client.post(
        reverse("activities:follow-up-complete", args=[again.pk]),
        {"outcome": "reached", "next_due_at": "2001-01-01T10:00"},
    )
    assert response.status_code == 400
    assert "must be in the future" in response.content.decode()


def test_my_day_page_shows_mine_and_the_managers_team_table(client, users, customer):
    _plan(users, customer, -30)
    html = _as(client, users["rep1"]).get(reverse("activities:my-day")).content.decode()
    assert "杭州万华化工有限公司" in html
    assert 'id="team-progress"' not in html
    client.logout()
    html = _as(client, users["manager"]).get(reverse("activities:my-day")).content.decode()
    assert 'id="team-progress"' in html and str(users["rep1"]) in html


def test_the_lead_page_has_the_follow_up_panel(client, users):
    lead = LeadFactory(owner=users["rep1"])
    html = _as(client, users["rep1"]).get(reverse("sales:lead-detail", args=[lead.pk]))
    assert 'id="follow-ups"' in html.content.decode()
    assert "Plan a follow-up" in html.content.decode()


# --- digest ------------------------------------------------------------------------------------


def test_the_digest_goes_once_a_day_after_eight_local_time(users, customer):
    users["rep1"].email, users["rep1"].time_zone = "rep1@example.cn", "Asia/Shanghai"
    users["rep1"].save()
    _plan(users, customer, 4)
    _plan(users, customer, -30)
    early = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)  # 07:00 in Shanghai
    assert services.follow_up_digest_send(now=early) == 0
    assert services.follow_up_digest_send(now=NOW) == 1
    assert services.follow_up_digest_send(now=NOW + timedelta(hours=1)) == 0
    note = Notification.objects.get(user=users["rep1"], kind="reminder")
    assert note.url == reverse("activities:my-day")
    assert len(mail.outbox) == 1 and "杭州万华化工有限公司" in mail.outbox[0].body
