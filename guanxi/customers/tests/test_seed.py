"""``manage.py seed`` and the shared generator: fast, and indistinguishable from customers
saved through the services (derived columns, search index, audit trail)."""

import copy

import pytest
from django.core.management import call_command

from guanxi.activities.models import AuditEntry
from guanxi.core.pinyin import pinyin_keys
from guanxi.core.validators import normalize_cn_mobile, normalize_uscc
from guanxi.customers.models import Address, Contact, ContactLink, Customer
from guanxi.customers.search import search_filter
from guanxi.customers.seeding import Generator, Owner, fast_pinyin_keys, seed_customers
from guanxi.customers.services import contact_prepare, customer_prepare
from guanxi.customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

DERIVED = [
    "name",
    "name_pinyin",
    "name_initials",
    "search_text",
    "phone_normalized",
    "mobile_normalized",
    "mobile",
    "email",
    "uscc",
    "team_id",
]


def assert_derived_columns_match_services(customers):
    for customer in customers:
        expected = copy.copy(customer)
        customer_prepare(expected)
        for field in DERIVED:
            assert getattr(customer, field) == getattr(expected, field), (customer.name, field)


@pytest.fixture
def seeded(users):
    call_command("seed", customers=200, contacts_per_customer=1, verbosity=0)
    return list(Customer.objects.order_by("pk"))


def test_seed_counts_owners_and_audit(seeded, users):
    assert len(seeded) == 200
    companies = [c for c in seeded if c.kind == Customer.Kind.COMPANY]
    assert ContactLink.objects.count() == len(companies) == Contact.objects.count()
    assert ContactLink.objects.filter(is_primary=True).count() == len(companies)
    assert Address.objects.filter(is_primary=True).count() == 200
    created = AuditEntry.objects.filter(action=AuditEntry.Action.CREATE, subject_type="customer")
    assert set(created.values_list("customer_id", flat=True)) == {c.pk for c in seeded}
    sales = {users[u].pk: users[u].team_id for u in ("manager", "rep1", "rep2", "rep3")}
    assert {c.owner_id for c in seeded} - {None} <= set(sales)
    assert len({c.owner_id for c in seeded}) >= 4  # spread, not all on one user
    for c in seeded:
        if c.owner_id:
            assert c.team_id == sales[c.owner_id]
    assert {c.tier for c in seeded} == {"key", "suitable", "ordinary"}
    assert len({c.created_at for c in seeded}) > 150  # spread in time, not "now"
    assert all(c.updated_at >= c.created_at for c in seeded)


def test_seeded_rows_equal_what_the_services_compute(seeded):
    assert_derived_columns_match_services(seeded)
    for c in seeded:
        if c.uscc:
            assert normalize_uscc(c.uscc) == c.uscc
        if c.mobile:
            assert normalize_cn_mobile(c.mobile) == c.mobile
        assert c.province and c.city
    for contact in Contact.objects.all()[:50]:
        expected = copy.copy(contact)
        contact_prepare(expected)
        assert (contact.name_pinyin, contact.name_initials, contact.mobile_normalized) == (
            expected.name_pinyin,
            expected.name_initials,
            expected.mobile_normalized,
        )


def test_seeded_customers_are_found_by_search(seeded):
    company = next(c for c in seeded if c.kind == Customer.Kind.COMPANY)
    everyone = Customer.objects.all()
    assert company in search_filter(everyone, company.name_initials)
    assert company in search_filter(everyone, company.name[2:5])
    assert company in search_filter(everyone, company.name_pinyin[:8])
    person = next(c for c in seeded if c.kind == Customer.Kind.PERSON)
    assert person in search_filter(everyone, person.mobile)


@pytest.mark.parametrize("use_raw", [True, False])
def test_deferred_index_build_and_orm_path(users, use_raw):
    """The bulk path that drops and rebuilds the search index gives the same result, and
    the index keeps following later saves (the SQLite trigger is restored)."""
    result = seed_customers(
        count=60,
        owners=[Owner(users["rep1"].pk, users["rep1"].team_id)],
        defer_indexes=True,
        use_raw=use_raw,
        generator=Generator(7),
    )
    assert result.customers == Customer.objects.count() == 60
    customers = list(Customer.objects.all())
    assert_derived_columns_match_services(customers)
    assert len({c.created_at for c in customers}) > 50
    everyone = Customer.objects.all()
    for c in customers[:10]:
        assert c in search_filter(everyone, c.name_initials)
    later = CustomerFactory(name="苏州德胜精密制造有限公司", owner=users["rep1"])
    assert later in search_filter(everyone, "szdsjm")


def test_generator_is_deterministic():
    owner = Owner(None, None)
    first = [Generator(3).customer(owner=owner)["name"] for _ in range(1)]
    a, b = Generator(3), Generator(3)
    assert [a.customer(owner=owner)["search_text"] for _ in range(30)] == [
        b.customer(owner=owner)["search_text"] for _ in range(30)
    ]
    assert first[0] == Generator(3).customer(owner=owner)["name"]


@pytest.mark.parametrize(
    "name",
    [
        "杭州万华化工有限公司",
        "重庆长安汽车配件有限公司",
        "长沙银行",
        "张三",
        "欧阳娜娜",
        "ABC科技（北京）有限公司",
        "音乐行业协会 2号",
        "",
    ],
)
def test_fast_pinyin_keys_equals_pinyin_keys(name):
    assert fast_pinyin_keys(name) == pinyin_keys(name)


def test_seed_needs_owners_or_unowned(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="demo_data"):
        call_command("seed", customers=5, verbosity=0)
    call_command("seed", customers=5, unowned=1, verbosity=0)
    assert Customer.objects.filter(owner__isnull=True).count() == 5
