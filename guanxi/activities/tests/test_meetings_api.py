"""Meetings through the API: the same rules as the pages, conflicts as 409."""

from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client

from guanxi.activities.models import Meeting
from guanxi.activities.tests.factories import MONDAY_TEN, in_future, make_meeting
from guanxi.activities.tests.test_follow_ups_api import Api
from guanxi.customers.tests.factories import ContactFactory, CustomerFactory

pytestmark = pytest.mark.django_db


def _body(start=None, **extra):
    start = start or in_future()
    return {
        "title": "产品演示",
        "start": start.isoformat(),
        "end": (start + timedelta(hours=1)).isoformat(),
        **extra,
    }


class JsonApi(Api):
    def patch(self, path, body):
        return self.client.patch("/api/v1" + path, body, content_type="application/json")


def test_create_get_list_update_and_cancel(users, django_capture_on_commit_callbacks):
    api = JsonApi(users["rep1"])
    customer = CustomerFactory(owner=users["rep1"])
    contact = ContactFactory(customer=customer, email="li@example.cn")
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            "/meetings",
            _body(
                customer_id=customer.pk,
                attendee_ids=[users["rep2"].pk],
                contact_ids=[contact.pk],
                location="线上",
            ),
        )
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["organiser"]["id"] == users["rep1"].pk and created["sequence"] == 0
    assert [a["id"] for a in created["attendees"]] == [users["rep2"].pk]
    assert len(mail.outbox) == 2
    assert api.get(f"/meetings/{created['id']}").json()["uid"] == created["uid"]
    listed = api.get("/meetings").json()["items"]
    assert [m["id"] for m in listed] == [created["id"]]
    # rep2 attends: it is in their calendar too
    assert [m["id"] for m in Api(users["rep2"]).get("/meetings").json()["items"]] == [created["id"]]
    changed = api.patch(f"/meetings/{created['id']}", {"title": "演示（改）", "location": None})
    assert changed.status_code == 200, changed.content
    assert changed.json()["title"] == "演示（改）" and changed.json()["location"] == ""
    assert changed.json()["sequence"] == 1
    cancelled = api.post(f"/meetings/{created['id']}/cancel", {"reason": "改期"})
    assert cancelled.status_code == 200 and cancelled.json()["cancelled_at"]
    assert api.post(f"/meetings/{created['id']}/cancel", {}).status_code == 422
    assert api.get("/meetings").json()["items"] == []
    assert len(api.get("/meetings", include_cancelled="true").json()["items"]) == 1


def test_the_list_filters_by_range_and_pages(users):
    for day in range(5):
        make_meeting(organiser=users["rep1"], start=MONDAY_TEN + timedelta(days=day))
    api = Api(users["rep1"])
    week = api.get(
        "/meetings",
        start=(MONDAY_TEN + timedelta(days=1)).isoformat(),
        end=(MONDAY_TEN + timedelta(days=3)).isoformat(),
    ).json()["items"]
    assert len(week) == 2
    first = api.get("/meetings", limit=3).json()
    assert len(first["items"]) == 3 and first["has_more"]
    rest = api.get("/meetings", limit=3, cursor=first["next_cursor"]).json()
    assert len(rest["items"]) == 2 and not rest["has_more"]
    assert api.get("/meetings", cursor="garbage").status_code == 400


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"end": MONDAY_TEN.isoformat()}, "end"),
        ({"end": (MONDAY_TEN - timedelta(hours=1)).isoformat()}, "end"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"start": "tomorrow"}, "start"),
        ({"start": "0001-01-01T00:00:00+05:00"}, "start"),
        ({"attendee_ids": [999999]}, "attendee_ids"),
        ({"contact_ids": [999999]}, "contact_ids"),
        ({"customer_id": 999999}, "customer_id"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_422_naming_the_field(users, change, field):
    body = {**_body(start=MONDAY_TEN), **change}
    response = Api(users["rep1"]).post("/meetings", body)
    assert response.status_code == 422, response.content
    assert field in [d["field"] for d in response.json()["detail"]]
    assert not Meeting.objects.exists()


def test_a_conflict_is_409_and_allow_conflicts_saves(users):
    make_meeting(organiser=users["rep2"], start=MONDAY_TEN, title="招标会")
    api = Api(users["manager"])
    body = _body(start=MONDAY_TEN + timedelta(minutes=30), attendee_ids=[users["rep2"].pk])
    response = api.post("/meetings", body)
    assert response.status_code == 409
    answer = response.json()
    assert answer["blocking"] is False
    assert [(c["user"]["id"], c["title"]) for c in answer["conflicts"]] == [
        (users["rep2"].pk, "招标会")
    ]
    assert api.post("/meetings", {**body, "allow_conflicts": True}).status_code == 201


def test_double_booking_refused_is_409_whatever_is_sent(users):
    make_meeting(organiser=users["rep2"], start=MONDAY_TEN, no_double_booking=True)
    body = _body(start=MONDAY_TEN, attendee_ids=[users["rep2"].pk], allow_conflicts=True)
    response = Api(users["manager"]).post("/meetings", body)
    assert response.status_code == 409 and response.json()["blocking"] is True
    assert Meeting.objects.count() == 1


def test_the_conflict_check_saves_nothing(users):
    make_meeting(organiser=users["rep3"], start=MONDAY_TEN, title="私事")
    api = Api(users["rep1"])
    body = {
        "start": MONDAY_TEN.isoformat(),
        "end": (MONDAY_TEN + timedelta(hours=1)).isoformat(),
        "attendee_ids": [users["rep3"].pk],
    }
    answer = api.post("/meetings/conflicts", body).json()
    # rep3's meeting is not rep1's to see: only "busy"
    assert [(c["user"]["id"], c["title"], c["meeting_id"]) for c in answer["conflicts"]] == [
        (users["rep3"].pk, "", None)
    ]
    free = api.post("/meetings/conflicts", {**body, "attendee_ids": []}).json()
    assert free["conflicts"] == []
    bad = api.post("/meetings/conflicts", {**body, "end": body["start"]})
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "end"
    assert Meeting.objects.count() == 1


@pytest.mark.parametrize(
    ("role", "create", "get", "patch"),
    [
        ("rep1", 201, 200, 200),
        ("manager", 201, 200, 200),
        ("admin", 201, 200, 200),
        ("exec1", 201, 200, 403),
        ("agent1", 201, 404, 404),
        ("marketer1", 201, 404, 404),
        ("rep2", 201, 404, 404),
        ("rep3", 201, 404, 404),
        ("partner1", 403, 404, 404),
    ],
)
def test_access_by_role(users, role, create, get, patch):
    theirs = make_meeting(organiser=users["rep1"], start=in_future(days=3))
    api = JsonApi(users[role])
    assert api.post("/meetings", _body(start=in_future(days=4))).status_code == create
    assert api.get(f"/meetings/{theirs.pk}").status_code == get
    assert api.patch(f"/meetings/{theirs.pk}", {"title": "x"}).status_code == patch
    theirs.refresh_from_db()
    assert (theirs.title == "x") is (patch == 200)


def test_whose_calendar_follows_the_scope(users):
    make_meeting(organiser=users["rep1"], start=MONDAY_TEN)
    assert (
        len(Api(users["manager"]).get("/meetings", user_id=users["rep1"].pk).json()["items"]) == 1
    )
    assert Api(users["rep2"]).get("/meetings", user_id=users["rep1"].pk).status_code == 404


def test_feed_address_from_the_api_works(users):
    make_meeting(organiser=users["rep1"], start=in_future(), title="订阅测试")
    response = Api(users["rep1"]).post("/calendar/feed", {})
    assert response.status_code == 200
    url = response.json()["url"]
    assert "/calendar/feed/" in url and url.endswith(".ics")
    feed = Client().get(url.split("testserver", 1)[1])
    assert feed.status_code == 200 and "订阅测试" in feed.content.decode()


def test_my_day_lists_todays_meetings(users):
    from django.utils import timezone

    start = timezone.localtime().replace(hour=9, minute=0, second=0, microsecond=0)
    meeting = make_meeting(organiser=users["manager"], start=start, attendees=[users["rep1"]])
    day = Api(users["rep1"]).get("/my-day").json()
    assert [m["id"] for m in day["meetings"]] == [meeting.pk]
    assert day["meetings"][0]["organiser"]["id"] == users["manager"].pk
