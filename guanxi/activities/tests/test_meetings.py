"""Meetings: validation, conflicts (warn or block), the timeline, invitations with .ics,
access for every role, the calendar pages, My day and the handover."""

from datetime import UTC, datetime, timedelta

import pytest
import vobject
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from guanxi.activities import selectors, services
from guanxi.activities.models import AuditEntry, Meeting, Notification
from guanxi.activities.tests.factories import MONDAY_TEN, in_future, make_meeting
from guanxi.core.models import DomainEvent
from guanxi.customers.tests.factories import ContactFactory, CustomerFactory
from guanxi.sales.tests.factories import OpportunityFactory

pytestmark = pytest.mark.django_db


def _as(client, user):
    client.force_login(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def customer(users):
    return CustomerFactory(owner=users["rep1"], name="杭州万华化工有限公司")


# --- the service -----------------------------------------------------------------------------


def test_a_meeting_shows_on_its_customers_timeline_and_is_an_event(users, customer):
    # given a customer of rep1 and an opportunity of theirs
    opportunity = OpportunityFactory(customer=customer, owner=users["rep1"])
    # when rep1 puts a meeting about the opportunity in the calendar
    meeting = make_meeting(
        organiser=users["rep1"], start=MONDAY_TEN, opportunity=opportunity, location="客户会议室"
    )
    # then the customer comes from the opportunity, and the timeline and events have it
    assert meeting.customer == customer and meeting.sequence == 0
    entry = AuditEntry.objects.get(customer_id=customer.pk, action="meeting")
    assert entry.subject_type == "meeting" and entry.subject_label == "方案讨论"
    assert entry.changes["start_at"][1] == "2026-11-23 10:00"  # the organiser's time zone
    assert DomainEvent.objects.filter(name="meeting.created", subject_id=meeting.pk).exists()


def test_the_customer_page_timeline_lists_the_meeting(client, users, customer):
    make_meeting(organiser=users["rep1"], start=MONDAY_TEN, customer=customer, title="季度回顾")
    html = _as(client, users["rep1"]).get(reverse("customers:customer-detail", args=[customer.pk]))
    assert "季度回顾" in html.content.decode()


@pytest.mark.parametrize("minutes", [0, -30])
def test_a_meeting_must_end_after_it_starts(users, minutes):
    with pytest.raises(ValidationError) as exc:
        make_meeting(organiser=users["rep1"], start=MONDAY_TEN, minutes=minutes)
    assert "end" in exc.value.message_dict
    assert not Meeting.objects.exists()


def test_a_title_is_required_and_dates_must_be_sensible(users):
    with pytest.raises(ValidationError) as exc:
        make_meeting(organiser=users["rep1"], start=MONDAY_TEN, title="   ")
    assert list(exc.value.message_dict) == ["title"]
    with pytest.raises(ValidationError) as exc:
        make_meeting(organiser=users["rep1"], start=datetime(1, 1, 2, tzinfo=UTC))
    assert "start" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        make_meeting(organiser=users["rep1"], start=MONDAY_TEN, minutes=60 * 24 * 40)
    assert "end" in exc.value.message_dict


def test_contacts_must_belong_to_the_meetings_customer(users, customer):
    other = ContactFactory(customer=CustomerFactory(owner=users["rep1"]))
    with pytest.raises(ValidationError) as exc:
        make_meeting(organiser=users["rep1"], start=MONDAY_TEN, customer=customer, contacts=[other])
    assert "contacts" in exc.value.message_dict
    opportunity = OpportunityFactory(customer=CustomerFactory(owner=users["rep1"]))
    with pytest.raises(ValidationError) as exc:
        make_meeting(
            organiser=users["rep1"],
            start=MONDAY_TEN,
            customer=customer,
            opportunity=opportunity,
        )
    assert "opportunity" in exc.value.message_dict


def test_an_all_day_meeting_runs_midnight_to_midnight_in_the_organisers_zone(users):
    meeting = make_meeting(organiser=users["rep1"], start=MONDAY_TEN, minutes=30 * 60, all_day=True)
    local_start = timezone.localtime(meeting.start_at, timezone.get_fixed_timezone(480))
    local_end = timezone.localtime(meeting.end_at, timezone.get_fixed_timezone(480))
    assert (local_start.day, local_start.hour) == (23, 0)
    assert (local_end.day, local_end.hour) == (25, 0)  # two whole days
    # saving it again does not make it longer
    services.meeting_update(actor=users["rep1"], meeting=meeting, data={"title": "展会"})
    again = services.meeting_update(
        actor=users["rep1"],
        meeting=meeting,
        data={"start": meeting.start_at, "end": meeting.end_at, "all_day": True},
    )
    assert again.end_at == meeting.end_at


# --- conflicts -----------------------------------------------------------------------------------


def test_an_overlap_warns_and_the_user_may_save_anyway(users):
    # given rep1 busy 10:00–11:00
    make_meeting(organiser=users["rep1"], start=MONDAY_TEN, title="拜访客户")
    # when the manager invites rep1 to 10:30–11:30
    with pytest.raises(services.MeetingConflict) as exc:
        make_meeting(
            organiser=users["manager"],
            start=MONDAY_TEN + timedelta(minutes=30),
            attendees=[users["rep1"]],
            allow_conflicts=False,
        )
    # then rep1 is named with the meeting the manager may see, as a warning
    assert not exc.value.blocking
    assert [(c.user, c.title) for c in exc.value.conflicts] == [(users["rep1"], "拜访客户")]
    assert "attendees" in exc.value.message_dict
    # and confirming saves it
    make_meeting(
        organiser=users["manager"],
        start=MONDAY_TEN + timedelta(minutes=30),
        attendees=[users["rep1"]],
        allow_conflicts=True,
    )
    assert Meeting.objects.count() == 2


def test_what_others_may_not_see_is_only_busy(users):
    make_meeting(organiser=users["rep2"], start=MONDAY_TEN, title="私事")
    conflicts = services.meeting_conflicts(
        start=MONDAY_TEN,
        end=MONDAY_TEN + timedelta(hours=1),
        people=[users["rep1"], users["rep2"]],
        viewer=users["rep1"],
    )
    assert [(c.user, c.title) for c in conflicts] == [(users["rep2"], "")]


def test_back_to_back_and_cancelled_meetings_do_not_conflict(users):
    make_meeting(organiser=users["rep1"], start=MONDAY_TEN)
    cancelled = make_meeting(organiser=users["rep1"], start=MONDAY_TEN + timedelta(hours=1))
    services.meeting_cancel(actor=users["rep1"], meeting=cancelled)
    make_meeting(
        organiser=users["rep1"], start=MONDAY_TEN + timedelta(hours=1), allow_conflicts=False
    )
    assert Meeting.objects.filter(cancelled_at__isnull=True).count() == 2


def test_no_double_booking_blocks_whatever_the_user_says(users):
    make_meeting(organiser=users["rep1"], start=MONDAY_TEN)
    # the new meeting refuses double booking
    with pytest.raises(services.MeetingConflict) as exc:
        make_meeting(
            organiser=users["manager"],
            start=MONDAY_TEN,
            attendees=[users["rep1"]],
            no_double_booking=True,
            allow_conflicts=True,
        )
    assert exc.value.blocking
    # an existing meeting that refuses double booking blocks later ones too
    make_meeting(
        organiser=users["rep2"], start=MONDAY_TEN + timedelta(hours=3), no_double_booking=True
    )
    with pytest.raises(services.MeetingConflict) as exc:
        make_meeting(
            organiser=users["manager"],
            start=MONDAY_TEN + timedelta(hours=3, minutes=30),
            attendees=[users["rep2"]],
            allow_conflicts=True,
        )
    assert exc.value.blocking
    assert Meeting.objects.count() == 2


def test_moving_a_meeting_onto_a_busy_time_warns(users):
    make_meeting(organiser=users["rep1"], start=MONDAY_TEN)
    later = make_meeting(organiser=users["rep1"], start=MONDAY_TEN + timedelta(hours=2))
    # a change that leaves the time alone does not warn again
    services.meeting_update(actor=users["rep1"], meeting=later, data={"location": "线上"})
    with pytest.raises(services.MeetingConflict):
        services.meeting_update(
            actor=users["rep1"],
            meeting=later,
            data={"start": MONDAY_TEN, "end": MONDAY_TEN + timedelta(hours=1)},
        )
    later.refresh_from_db()
    assert later.start_at == MONDAY_TEN + timedelta(hours=2) and later.sequence == 1


# --- invitations ---------------------------------------------------------------------------------


def _ics(message):
    attachment = message.attachments[0]
    assert attachment.filename == "invite.ics"
    assert attachment.mimetype.startswith("text/calendar")
    return vobject.readOne(attachment.content)


def test_invitations_go_out_with_an_ics_and_a_notification(
    users, customer, django_capture_on_commit_callbacks
):
    # given a contact with an e-mail address at the customer
    contact = ContactFactory(customer=customer, email="wang@wanhua.cn")
    # when rep1 invites rep2 and the contact
    with django_capture_on_commit_callbacks(execute=True):
        meeting = make_meeting(
            organiser=users["rep1"],
            start=MONDAY_TEN,
            customer=customer,
            attendees=[users["rep2"]],
            contacts=[contact],
        )
    # then each gets an e-mail with a REQUEST, and rep2 a notification
    assert sorted(m.to[0] for m in mail.outbox) == ["rep2@example.com", "wang@wanhua.cn"]
    cal = _ics(mail.outbox[0])
    assert cal.method.value == "REQUEST"
    event = cal.vevent
    assert event.uid.value == meeting.uid and event.sequence.value == "0"
    assert event.dtstart.value == MONDAY_TEN and event.dtstart.value.utcoffset() == timedelta(0)
    assert event.organizer.value == "mailto:rep1@example.com"
    assert {a.value for a in event.attendee_list} == {
        "mailto:rep2@example.com",
        "mailto:wang@wanhua.cn",
    }
    note = Notification.objects.get(user=users["rep2"], kind=Notification.Kind.MEETING)
    assert note.url == reverse("calendar:meeting-detail", args=[meeting.pk])
    assert not Notification.objects.filter(user=users["rep1"]).exists()
    # and sending the same version again sends nothing (idempotent)
    assert services.meeting_invitations_send(meeting_id=meeting.pk, sequence=0) == 0


def test_a_change_raises_the_sequence_and_a_removed_attendee_is_cancelled(
    users, django_capture_on_commit_callbacks
):
    meeting = make_meeting(
        organiser=users["rep1"], start=MONDAY_TEN, attendees=[users["rep2"], users["manager"]]
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.meeting_update(
            actor=users["rep1"],
            meeting=meeting,
            data={"title": "方案讨论（改期）", "attendees": [users["manager"]]},
        )
    by_address = {m.to[0]: _ics(m) for m in mail.outbox}
    assert by_address["manager@example.com"].method.value == "REQUEST"
    assert by_address["manager@example.com"].vevent.sequence.value == "1"
    assert by_address["rep2@example.com"].method.value == "CANCEL"
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.meeting_cancel(actor=users["rep1"], meeting=meeting, reason="客户出差")
    assert [m.to[0] for m in mail.outbox] == ["manager@example.com"]
    cancelled = _ics(mail.outbox[0])
    assert cancelled.method.value == "CANCEL" and cancelled.vevent.sequence.value == "2"
    assert cancelled.vevent.status.value == "CANCELLED"


def test_the_organiser_hears_when_someone_else_changes_their_meeting(
    users, django_capture_on_commit_callbacks
):
    meeting = make_meeting(organiser=users["rep1"], start=MONDAY_TEN)
    with django_capture_on_commit_callbacks(execute=True):
        services.meeting_update(actor=users["manager"], meeting=meeting, data={"title": "新"})
    assert Notification.objects.filter(user=users["rep1"], kind="meeting").count() == 1
    assert mail.outbox == []  # the organiser is not invited to their own meeting


# --- access --------------------------------------------------------------------------------------

# rep1 (上海组) organises; the manager heads 华东销售部 above it; rep2 and rep3 are elsewhere.
ACCESS = [
    # role, detail, edit page, cancel
    ("rep1", 200, 200, 302),
    ("manager", 200, 200, 302),
    ("admin", 200, 200, 302),
    ("exec1", 200, 403, 403),
    ("rep2", 404, 404, 404),
    ("rep3", 404, 404, 404),
    ("agent1", 404, 404, 404),
    ("marketer1", 404, 404, 404),
    ("partner1", 404, 404, 404),
]


@pytest.mark.parametrize(("role", "detail", "edit", "cancel"), ACCESS)
def test_who_may_see_change_and_cancel_a_meeting(client, users, role, detail, edit, cancel):
    meeting = make_meeting(organiser=users["rep1"], start=in_future())
    client = _as(client, users[role])
    assert client.get(reverse("calendar:meeting-detail", args=[meeting.pk])).status_code == detail
    assert client.get(reverse("calendar:meeting-edit", args=[meeting.pk])).status_code == edit
    response = client.post(reverse("calendar:meeting-cancel", args=[meeting.pk]))
    assert response.status_code == cancel
    meeting.refresh_from_db()
    assert (meeting.cancelled_at is not None) is (cancel == 302)


def test_an_attendee_sees_the_meeting_but_may_not_change_it(client, users):
    meeting = make_meeting(organiser=users["rep3"], start=in_future(), attendees=[users["rep2"]])
    client = _as(client, users["rep2"])
    assert client.get(reverse("calendar:meeting-detail", args=[meeting.pk])).status_code == 200
    assert client.get(reverse("calendar:meeting-edit", args=[meeting.pk])).status_code == 403


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("rep1", 200),
        ("manager", 200),
        ("admin", 200),
        ("exec1", 200),
        ("agent1", 200),
        ("marketer1", 200),
        ("partner1", 403),
    ],
)
def test_who_may_organise_a_meeting(client, users, role, status):
    assert _as(client, users[role]).get(reverse("calendar:meeting-new")).status_code == status


# --- the form ------------------------------------------------------------------------------------


def _form_post(client, **extra):
    start = timezone.localtime(in_future())
    data = {
        "title": "产品演示",
        "start": start.strftime("%Y-%m-%dT%H:%M"),
        "end": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "location": "上海办公室",
        **extra,
    }
    return client.post(reverse("calendar:meeting-new"), data)


def test_the_form_names_the_field_of_a_meeting_ending_before_it_starts(client, users):
    client = _as(client, users["rep1"])
    response = _form_post(client, end="2001-01-01T09:00")
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="field-end"' in html and "The meeting must end after it starts." in html
    response = _form_post(client, title="")
    assert response.status_code == 400 and "field-title" in response.content.decode()
    assert not Meeting.objects.exists()


def test_the_form_warns_of_a_conflict_and_saves_when_confirmed(client, users):
    make_meeting(organiser=users["rep2"], start=in_future(), title="招标会")
    client = _as(client, users["manager"])
    response = _form_post(client, attendees=[users["rep2"].pk])
    html = response.content.decode()
    assert response.status_code == 400
    assert 'id="conflicts"' in html and "招标会" in html and str(users["rep2"]) in html
    assert "allow_conflicts" in html
    response = _form_post(client, attendees=[users["rep2"].pk], allow_conflicts="on")
    assert response.status_code == 302
    meeting = Meeting.objects.get(title="产品演示")
    assert response["Location"] == reverse("calendar:meeting-detail", args=[meeting.pk])
    assert list(meeting.attendees.all()) == [users["rep2"]]


def test_the_form_refuses_double_booking_even_when_confirmed(client, users):
    make_meeting(organiser=users["rep2"], start=in_future(), no_double_booking=True)
    client = _as(client, users["manager"])
    response = _form_post(client, attendees=[users["rep2"].pk], allow_conflicts="on")
    assert response.status_code == 400
    assert "double booking not allowed" in response.content.decode()
    assert Meeting.objects.count() == 1


def test_the_form_offers_the_customers_contacts(client, users, customer):
    ContactFactory(customer=customer, name="王经理")
    client = _as(client, users["rep1"])
    html = client.get(reverse("calendar:meeting-new"), {"customer": customer.pk}).content.decode()
    assert "王经理" in html
    parts = client.get(
        reverse("calendar:meeting-form-parts"), {"customer": customer.pk}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "王经理" in parts and "<html" not in parts
    assert (
        "王经理"
        not in client.get(
            reverse("calendar:meeting-form-parts"), {"customer": "x"}
        ).content.decode()
    )


def test_editing_in_the_browser(client, users, customer):
    meeting = make_meeting(organiser=users["rep1"], start=in_future(), customer=customer)
    client = _as(client, users["rep1"])
    start = timezone.localtime(meeting.start_at)
    response = client.post(
        reverse("calendar:meeting-edit", args=[meeting.pk]),
        {
            "title": "改了",
            "start": start.strftime("%Y-%m-%dT%H:%M"),
            "end": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
            "customer": customer.pk,
        },
    )
    assert response.status_code == 302
    meeting.refresh_from_db()
    assert meeting.title == "改了" and meeting.sequence == 1
    assert meeting.end_at - meeting.start_at == timedelta(hours=2)


# --- calendar pages ------------------------------------------------------------------------------


def test_the_week_shows_my_meetings_and_follow_ups_monday_first(client, users, customer):
    make_meeting(organiser=users["rep1"], start=MONDAY_TEN + timedelta(days=2), title="周三拜访")
    make_meeting(organiser=users["rep2"], start=MONDAY_TEN, title="别人的会")
    services.follow_up_plan(
        actor=users["rep1"], customer=customer, method="call", due_at=MONDAY_TEN
    )
    client = _as(client, users["rep1"])
    response = client.get(reverse("calendar:index"), {"view": "week", "date": "2026-11-25"})
    html = response.content.decode()
    assert "周三拜访" in html and "杭州万华化工有限公司" in html
    assert "别人的会" not in html
    assert "2026-11-23 – 2026-11-29" in html  # Monday to Sunday


def test_htmx_navigation_swaps_only_the_grid(client, users):
    client = _as(client, users["rep1"])
    response = client.get(
        reverse("calendar:index"), {"view": "month", "date": "2026-11-01"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert response.status_code == 200 and html.lstrip().startswith('<div id="calendar">')
    assert "<html" not in html
    # bad parameters fall back, never 500
    for query in ({"view": "year", "date": "20261-1-1"}, {"date": "9999-99-99", "user": "x"}):
        assert client.get(reverse("calendar:index"), query).status_code == 200


def test_a_manager_opens_a_teammates_calendar_a_rep_may_not(client, users):
    make_meeting(organiser=users["rep1"], start=MONDAY_TEN, title="rep1 的会")
    url = reverse("calendar:index")
    query = {"view": "day", "date": "2026-11-23", "user": users["rep1"].pk}
    assert "rep1 的会" in _as(client, users["manager"]).get(url, query).content.decode()
    client.logout()
    query["user"] = users["rep1"].pk
    html = _as(client, users["rep2"]).get(url, query).content.decode()
    assert "rep1 的会" not in html


def test_the_week_page_runs_a_fixed_number_of_queries(
    client, users, customer, django_assert_max_num_queries
):
    client = _as(client, users["manager"])
    url = reverse("calendar:index")
    query = {"view": "week", "date": "2026-11-23", "user": users["rep1"].pk}
    client.get(url, query)  # warm the caches of scopes and permissions

    def week_page():
        return client.get(url, query)

    with django_assert_max_num_queries(12) as few:
        week_page()
    baseline = len(few.captured_queries)
    for day in range(5):
        make_meeting(
            organiser=users["rep1"],
            start=MONDAY_TEN + timedelta(days=day),
            customer=customer,
            attendees=[users["rep2"]],
        )
        services.follow_up_plan(
            actor=users["rep1"],
            customer=customer,
            method="call",
            due_at=MONDAY_TEN + timedelta(days=day, hours=3),
        )
    with django_assert_max_num_queries(baseline) as many:
        response = week_page()
    assert response.content.decode().count("cal-item cal-meeting") >= 5
    assert len(many.captured_queries) == baseline


# --- My day --------------------------------------------------------------------------------


def test_my_day_lists_todays_meetings(client, users):
    now = timezone.now()
    start = timezone.localtime(now).replace(hour=10, minute=0, second=0, microsecond=0)
    make_meeting(organiser=users["manager"], start=start, attendees=[users["rep1"]], title="晨会")
    make_meeting(organiser=users["rep1"], start=start + timedelta(days=2), title="后天的会")
    day = selectors.my_day(user=users["rep1"])
    assert [m.title for m in day.meetings] == ["晨会"]
    html = _as(client, users["rep1"]).get(reverse("activities:my-day")).content.decode()
    assert 'id="meetings-today"' in html and "晨会" in html and "后天的会" not in html


# --- handover ------------------------------------------------------------------------------


def test_handover_moves_future_meetings_only(client, users, django_capture_on_commit_callbacks):
    # given rep1 organises a past and a future meeting
    past = make_meeting(organiser=users["rep1"], start=timezone.now() - timedelta(days=3))
    future = make_meeting(
        organiser=users["rep1"], start=in_future(), attendees=[users["rep2"], users["manager"]]
    )
    # when the administrator hands rep1 over to rep2
    client = _as(client, users["admin"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("users:handover"),
            {"from_user": users["rep1"].pk, "to_users": [users["rep2"].pk]},
            follow=True,
        )
    assert "1 future meeting was handed over." in response.content.decode()
    # then the future meeting is rep2's (no longer also an attendee), the past one stays
    past.refresh_from_db()
    future.refresh_from_db()
    assert past.organiser == users["rep1"]
    assert future.organiser == users["rep2"] and future.sequence == 1
    assert list(future.attendees.all()) == [users["manager"]]
    assert AuditEntry.objects.filter(
        subject_type="meeting", subject_id=future.pk, action="handover"
    ).exists()
    assert Notification.objects.filter(user=users["rep2"], kind="meeting").exists()


def test_a_handed_over_meeting_follows_its_customer(users):
    customer = CustomerFactory(owner=users["manager"])
    make_meeting(organiser=users["rep1"], start=in_future(), customer=customer)
    make_meeting(organiser=users["rep1"], start=in_future(days=8))
    counts = services.meetings_handover(
        actor=users["admin"], from_user=users["rep1"], to_users=[users["rep2"], users["manager"]]
    )
    assert counts == {users["rep2"].pk: 1, users["manager"].pk: 1}
    assert Meeting.objects.get(customer=customer).organiser == users["manager"]


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("0001-01-01T00:00", "0001-01-01T01:00"),
        ("9999-12-31T23:00", "9999-12-31T23:59"),
        ("2026-11-23T10:00", "9999-12-31T23:59"),
        ("tomorrow", "later"),
    ],
)
def test_odd_dates_on_the_form_are_errors_not_failures(client, users, start, end):
    client = _as(client, users["rep1"])
    for all_day in ("on", ""):
        response = client.post(
            reverse("calendar:meeting-new"),
            {"title": "t", "start": start, "end": end, "all_day": all_day},
        )
        assert response.status_code == 400
        assert "errorlist" in response.content.decode()
    assert not Meeting.objects.exists()


def test_a_busy_day_in_the_month_shows_four_and_links_to_the_rest(client, users):
    for i in range(6):
        make_meeting(
            organiser=users["rep1"],
            start=MONDAY_TEN + timedelta(minutes=10 * i),
            minutes=5,
            title=f"短会{i}",
        )
    client = _as(client, users["rep1"])
    html = client.get(reverse("calendar:index"), {"view": "month", "date": "2026-11-01"})
    html = html.content.decode()
    assert "短会3" in html and "短会4" not in html and "2 more" in html
