"""In-app notifications: who gets them, the page that lists them, the unread badge."""

import pytest
from django.urls import reverse

from guanxi.activities.models import Notification
from guanxi.activities.selectors import notifications_for, timeline_for_customer
from guanxi.activities.services import audit_record, diff_fields, notification_send
from guanxi.customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


def test_a_note_mention_reaches_the_mentioned_users_page_and_badge(
    client, users, django_capture_on_commit_callbacks
):
    # given rep1's customer
    customer = CustomerFactory(owner=users["rep1"], name="万华化工")
    client.force_login(users["rep1"])
    # when rep1 mentions the manager in a note on the customer page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("customers:note-create", args=[customer.pk]),
            {"body": "@manager 请帮忙审批折扣"},
        )
    assert response.status_code == 302
    # then the manager has one unread mention, shown with a badge and on the page
    assert notifications_for(user=users["manager"], unread_only=True).count() == 1
    assert not Notification.objects.filter(user=users["rep1"]).exists()
    client.force_login(users["manager"])
    home = client.get("/")
    assert home.context["unread_notifications"] == 1
    assert '<span class="badge">1</span>' in home.content.decode()
    assert [n.message for n in home.context["mentions"]] == [
        f"{users['rep1']} mentioned you on 万华化工"
    ]
    page = client.get(reverse("activities:notification-index")).content.decode()
    assert "mentioned you on 万华化工" in page
    assert f"/customers/{customer.pk}/#note-" in page


def test_reassigning_on_the_list_notifies_the_new_owner(
    client, users, django_capture_on_commit_callbacks
):
    customers = [CustomerFactory(owner=users["rep1"], name=f"客户{i}") for i in range(2)]
    client.force_login(users["manager"])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("customers:customer-bulk"),
            {"action": "assign", "owner": users["rep2"].pk, "ids": [c.pk for c in customers]},
        )
    notes = list(notifications_for(user=users["rep2"]))
    assert len(notes) == 1
    assert notes[0].kind == Notification.Kind.ASSIGNED
    assert "assigned 2 customers to you" in notes[0].message
    assert notes[0].url == reverse("customers:customer-index") + "?owner=me"
    assert not notifications_for(user=users["rep1"]).exists()


def test_the_notification_page_lists_only_ones_own(client, users):
    notification_send(user=users["rep1"], kind="job", message="导入完成")
    notification_send(user=users["rep2"], kind="job", message="rep2 的导出完成")
    client.force_login(users["rep1"])
    html = client.get(reverse("activities:notification-index")).content.decode()
    assert "导入完成" in html
    assert "rep2 的导出完成" not in html


def test_mark_all_as_read_clears_the_badge_for_oneself_only(client, users):
    for i in range(3):
        notification_send(user=users["rep1"], kind="job", message=f"任务{i}")
    notification_send(user=users["rep2"], kind="job", message="别人的")
    client.force_login(users["rep1"])
    assert client.get("/").context["unread_notifications"] == 3
    response = client.post(reverse("activities:notification-read-all"))
    assert response.status_code == 302
    assert client.get("/").context["unread_notifications"] == 0
    assert notifications_for(user=users["rep2"], unread_only=True).count() == 1
    assert client.get(reverse("activities:notification-read-all")).status_code == 405


def test_notifications_are_newest_first_and_messages_are_capped(users):
    first = notification_send(user=users["rep1"], kind="job", message="旧")
    second = notification_send(user=users["rep1"], kind="job", message="新" * 600)
    assert list(notifications_for(user=users["rep1"])) == [second, first]
    assert len(second.message) == 500


def test_diff_fields_lists_only_changed_values_in_plain_form(users):
    assert diff_fields({"a": 1, "b": "x"}, {"a": 2, "b": "x", "c": users["rep1"]}) == {
        "a": [1, 2],
        "c": [None, str(users["rep1"])],
    }


def test_the_timeline_is_per_customer_and_newest_first(users):
    a = CustomerFactory(owner=users["rep1"])
    b = CustomerFactory(owner=users["rep1"])
    audit_record(actor=users["rep1"], action="note", subject=a, customer_id=a.pk, message="一")
    audit_record(actor=users["rep1"], action="note", subject=a, customer_id=a.pk, message="二")
    audit_record(actor=None, action="note", subject=b, customer_id=b.pk, message="b")
    messages = [e.message for e in timeline_for_customer(customer_id=a.pk) if e.action == "note"]
    assert messages == ["二", "一"]
    system = timeline_for_customer(customer_id=b.pk).get(action="note")
    assert system.actor is None
