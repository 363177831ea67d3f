"""The secret iCalendar feed: what it holds, that calendar apps can read it, that it
needs no login but a valid token, and that a reset retires the old address."""

from datetime import timedelta

import pytest
import vobject
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from guanxi.activities import services
from guanxi.activities.tests.factories import in_future, make_meeting
from guanxi.customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _feed(token):
    return Client().get(reverse("calendar:feed", args=[token]))


def test_the_feed_holds_my_meetings_and_follow_ups_and_nobody_elses(users):
    # given rep1's meetings (organised, attended, old, cancelled), follow-ups, and rep2's
    customer = CustomerFactory(owner=users["rep1"], name="苏州恒瑞科技")
    mine = make_meeting(organiser=users["rep1"], start=in_future(), title="我组织的会")
    attending = make_meeting(
        organiser=users["manager"],
        start=in_future(days=2),
        attendees=[users["rep1"]],
        title="部门例会",
    )
    make_meeting(
        organiser=users["rep1"], start=timezone.now() - timedelta(days=40), title="很久以前"
    )
    recent = make_meeting(
        organiser=users["rep1"], start=timezone.now() - timedelta(days=10), title="上周的会"
    )
    gone = make_meeting(organiser=users["rep1"], start=in_future(days=3), title="取消的会")
    services.meeting_cancel(actor=users["rep1"], meeting=gone)
    make_meeting(organiser=users["rep2"], start=in_future(), title="rep2 的私事")
    follow_up = services.follow_up_plan(
        actor=users["rep1"], customer=customer, method="call", due_at=in_future(days=1), plan="报价"
    )
    token = services.calendar_feed_reset(user=users["rep1"])
    # when a calendar app fetches the address, without logging in
    response = _feed(token)
    # then it is an iCalendar document calendar apps accept
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    body = response.content.decode()
    assert body.startswith("BEGIN:VCALENDAR\r\n") and "\r\nBEGIN:VEVENT\r\n" in body  # CRLF
    cal = vobject.readOne(body)
    assert cal.version.value == "2.0" and cal.prodid.value.startswith("-//Guanxi")
    assert cal.calscale.value == "GREGORIAN" and cal.contents["x-wr-calname"][0].value
    events = {e.uid.value: e for e in cal.vevent_list}
    assert set(events) == {mine.uid, attending.uid, recent.uid, f"follow-up-{follow_up.pk}@guanxi"}
    for event in events.values():
        assert event.dtstamp.value.utcoffset() == timedelta(0)
        assert event.dtstart.value.utcoffset() == timedelta(0)  # UTC, no VTIMEZONE needed
    assert events[f"follow-up-{follow_up.pk}@guanxi"].summary.value.endswith("苏州恒瑞科技")
    assert events[mine.uid].summary.value == "我组织的会"
    assert "rep2 的私事" not in body and "很久以前" not in body and "取消的会" not in body


def test_an_all_day_meeting_is_a_date_in_the_feed(users):
    meeting = make_meeting(organiser=users["rep1"], start=in_future(), all_day=True)
    cal = vobject.readOne(_feed(services.calendar_feed_reset(user=users["rep1"])).content.decode())
    event = cal.vevent
    assert event.uid.value == meeting.uid
    assert not hasattr(event.dtstart.value, "hour")
    assert event.dtend.value - event.dtstart.value == timedelta(days=1)


def test_an_unknown_token_is_404_and_a_reset_retires_the_old_address(users):
    assert _feed("not-a-token").status_code == 404
    old = services.calendar_feed_reset(user=users["rep1"])
    assert _feed(old).status_code == 200
    new = services.calendar_feed_reset(user=users["rep1"])
    assert _feed(old).status_code == 404
    assert _feed(new).status_code == 200
    users["rep1"].is_active = False
    users["rep1"].save()
    assert _feed(new).status_code == 404


def test_the_calendar_page_resets_and_shows_the_address_once(client, users):
    client.force_login(users["rep1"])
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    response = client.post(reverse("calendar:feed-reset"), follow=True)
    html = response.content.decode()
    assert "http://testserver/calendar/feed/" in html and ".ics" in html
    again = client.get(reverse("calendar:index")).content.decode()
    assert ".ics" not in again and "You have a calendar address" in again
    # only logged-in users may reset
    assert Client().post(reverse("calendar:feed-reset")).status_code == 302
