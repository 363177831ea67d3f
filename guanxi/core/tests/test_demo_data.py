"""``manage.py demo_data``: users with their roles, searchable demo customers, idempotent."""

import pytest
from django.core.management import call_command

from guanxi.activities.models import AuditEntry
from guanxi.customers.models import Channel, Customer, Tag
from guanxi.customers.search import search_filter
from guanxi.users import roles
from guanxi.users.models import Team, User

pytestmark = pytest.mark.django_db

EXPECTED_ROLES = {
    "admin": roles.ADMIN,
    "manager": roles.SALES_MANAGER,
    "rep1": roles.SALES_REP,
    "rep2": roles.SALES_REP,
    "agent1": roles.SERVICE_AGENT,
    "marketer1": roles.MARKETER,
    "exec1": roles.EXECUTIVE,
}


def load(**kwargs):
    call_command("demo_data", customers=120, verbosity=0, **kwargs)


def test_demo_users_teams_and_roles():
    load()
    for username, role in EXPECTED_ROLES.items():
        user = User.objects.get(username=username)
        assert list(user.groups.values_list("name", flat=True)) == [role]
        assert user.check_password("guanxi-demo")
        assert user.display_name
    assert User.objects.get(username="admin").is_superuser
    east = Team.objects.get(name="华东销售部", parent=None)
    assert east.manager == User.objects.get(username="manager")
    assert set(east.children.values_list("name", flat=True)) == {"上海组", "杭州组"}
    assert User.objects.get(username="rep1").team.name == "上海组"
    assert User.objects.get(username="rep2").team.name == "杭州组"
    assert Team.objects.get(path=east.path + f"{User.objects.get(username='rep1').team_id}/")
    assert Channel.objects.filter(name="老客户介绍").exists()
    assert Tag.objects.filter(name="VIP").exists()


def test_demo_customers_demo_the_search():
    load()
    assert Customer.objects.count() == 120
    everyone = Customer.objects.all()
    wanhua = Customer.objects.get(name="杭州万华化工有限公司")
    assert wanhua in search_filter(everyone, "hzwh")
    assert wanhua in search_filter(everyone, "万华")
    zhangsan = Customer.objects.get(name="张三")
    assert zhangsan in search_filter(everyone, "zs")
    assert zhangsan in search_filter(everyone, "zhangsan")
    assert wanhua.owner.username == "rep2" and wanhua.team.name == "杭州组"
    owners = set(everyone.values_list("owner__username", flat=True))
    assert {"rep1", "rep2", None} <= owners
    assert wanhua.contact_links.count() >= 1 and wanhua.addresses.filter(is_primary=True)
    assert wanhua.notes_set.exists()
    created = AuditEntry.objects.filter(customer_id=wanhua.pk, action="create")
    assert created.filter(subject_type="customer").count() == 1


def test_demo_data_is_idempotent_and_deterministic():
    load()
    names = sorted(Customer.objects.values_list("name", flat=True))
    users = User.objects.count()
    load()
    assert sorted(Customer.objects.values_list("name", flat=True)) == names
    assert User.objects.count() == users
    load(reset=True)
    assert sorted(Customer.objects.values_list("name", flat=True)) == names
    assert User.objects.count() == users
