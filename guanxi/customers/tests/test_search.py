"""Customer and contact search: Chinese, pinyin, initials, phone numbers in any format; always
within the user's reach; ranked with the exact name first."""

import pytest
from django.urls import reverse

from guanxi.customers.models import Customer
from guanxi.customers.selectors import CustomerFilters, contact_list, customer_list
from guanxi.customers.services import customer_update
from guanxi.customers.tests.factories import ContactFactory, CustomerFactory

pytestmark = pytest.mark.django_db

WANHUA = "杭州万华化工有限公司"


@pytest.fixture(autouse=True)
def _english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def book(users):
    rep1, rep2 = users["rep1"], users["rep2"]
    return {
        "zhangsan": CustomerFactory(owner=rep1, name="张三", kind="person", city="上海市"),
        "wanhua": CustomerFactory(
            owner=rep1,
            name=WANHUA,
            mobile="13800138000",
            phone="0571-8888 6666",
            email="Sales@Wanhua.example",
            uscc="91350100M000100Y43",
        ),
        "other": CustomerFactory(owner=rep1, name="上海宝钢贸易", city="上海市"),
        "rivals": CustomerFactory(owner=rep2, name="杭州万华物流有限公司", mobile="13900139000"),
    }


def _found(user, q, **kwargs) -> list[str]:
    page = customer_list(user=user, filters=CustomerFilters(q=q, **kwargs), limit=50)
    return [c.name for c in page.items]


@pytest.mark.parametrize("q", ["张三", "zhangsan", "ZhangSan", "zs", "ZS", " zhang san "])
def test_a_person_is_found_by_name_pinyin_and_initials(users, book, q):
    assert "张三" in _found(users["rep1"], q)


@pytest.mark.parametrize("q", ["hzwh", "万华", "wanhua", "杭州万华", "hangzhouwanhua", "化工"])
def test_a_company_is_found_by_chinese_pinyin_and_initials(users, book, q):
    found = _found(users["rep1"], q)
    assert WANHUA in found
    assert "上海宝钢贸易" not in found


@pytest.mark.parametrize(
    "q",
    [
        "13800138000",
        "138 0013 8000",
        "138-0013-8000",
        "+86 138-0013-8000",
        "+8613800138000",
        "0086 138 0013 8000",
        "0571-88886666",
        "0571 8888 6666",
        "+86 571 8888 6666",
        "sales@wanhua.example",
        "SALES@WANHUA",
        "91350100m000100y43",
    ],
)
def test_phone_email_and_uscc_in_any_format_find_the_customer(users, book, q):
    assert _found(users["rep1"], q) == [WANHUA]


def test_no_match_returns_nothing(users, book):
    assert _found(users["rep1"], "不存在的公司") == []
    assert _found(users["rep1"], "13700000000") == []


@pytest.mark.parametrize("q", ["张", "z", " ", "万 "])
def test_a_one_character_query_does_not_filter(users, book, q):
    # given rep1's three customers; when the query is a single character
    # then the list is not narrowed
    assert sorted(_found(users["rep1"], q)) == sorted(["张三", WANHUA, "上海宝钢贸易"])


def test_search_is_scoped_to_the_users_reach(users, book):
    # rep1 never sees rep2's 万华 company, however it is searched for
    for q in ["万华", "wanhua", "hzwh", "物流", "13900139000", "+86 139 0013 9000"]:
        assert "杭州万华物流有限公司" not in _found(users["rep1"], q), q
    # while its owner, their manager and the administrator do
    for role in ["rep2", "manager", "admin"]:
        assert "杭州万华物流有限公司" in _found(users[role], "万华"), role
    assert _found(users["partner1"], "万华") == []


def test_the_list_page_searches_within_reach(client, users, book):
    client.force_login(users["rep1"])
    html = client.get(reverse("customers:customer-index"), {"q": "wanhua"}).content.decode()
    assert WANHUA in html
    assert "杭州万华物流有限公司" not in html
    assert "上海宝钢贸易" not in html


def test_the_global_search_dropdown_is_scoped(client, users, book):
    # given a contact of rep2's customer with a matching name
    ContactFactory(customer=book["rivals"], name="万华李总", mobile="13600136000")
    ContactFactory(customer=book["wanhua"], name="万华王经理", mobile="13500135000")
    client.force_login(users["rep1"])
    # when rep1 types in the search box
    html = client.get(reverse("customers:search"), {"q": "万华"}).content.decode()
    # then only rep1's customer and contact show
    assert WANHUA in html
    assert "万华王经理" in html
    assert "杭州万华物流有限公司" not in html
    assert "万华李总" not in html
    assert "<html" not in html
    # and rep2 sees their own
    client.force_login(users["rep2"])
    html = client.get(reverse("customers:search"), {"q": "万华"}).content.decode()
    assert "杭州万华物流有限公司" in html
    assert "万华李总" in html
    assert WANHUA not in html


def test_the_global_search_ignores_a_one_character_query(client, users, book):
    client.force_login(users["rep1"])
    response = client.get(reverse("customers:search"), {"q": "万"})
    assert response.status_code == 200
    assert response.context["customers"] == []
    assert response.content.decode().strip() == ""


def test_ranking_puts_the_exact_name_first(users):
    # given customers that all contain 万华, the exact one created first (oldest)
    rep = users["rep1"]
    exact = CustomerFactory(owner=rep, name="万华")
    for name in ["杭州万华", "万华化学集团", "烟台万华", "万华大厦物业"]:
        CustomerFactory(owner=rep, name=name)
    # when searching for 万华
    found = _found(rep, "万华")
    # then the exact name is first, then names that start with it, then the others
    assert found[0] == exact.name
    assert set(found[1:3]) == {"万华化学集团", "万华大厦物业"}
    assert set(found[3:]) == {"杭州万华", "烟台万华"}


def test_ranking_puts_exact_initials_first(users):
    rep = users["rep1"]
    CustomerFactory(owner=rep, name="张三丰贸易")
    CustomerFactory(owner=rep, name="张三")
    assert _found(rep, "zs")[0] == "张三"


def test_the_global_search_ranks_the_exact_name_first(client, users):
    rep = users["rep1"]
    CustomerFactory(owner=rep, name="杭州万华")
    CustomerFactory(owner=rep, name="万华")
    client.force_login(rep)
    response = client.get(reverse("customers:search"), {"q": "万华"})
    assert [c.name for c in response.context["customers"]] == ["万华", "杭州万华"]


def test_ranked_results_page_through_every_match_once(users):
    rep = users["rep1"]
    for name in ["万华", "万华一厂", "万华二厂", "杭州万华", "宁波万华", "万华三厂", "不相关"]:
        CustomerFactory(owner=rep, name=name)
    seen, cursor = [], None
    for _ in range(10):
        page = customer_list(user=rep, filters=CustomerFilters(q="万华"), cursor=cursor, limit=2)
        seen.extend(c.name for c in page.items)
        cursor = page.next_cursor
        if not cursor:
            break
    assert len(seen) == 6
    assert set(seen) == {"万华", "万华一厂", "万华二厂", "杭州万华", "宁波万华", "万华三厂"}
    assert seen[0] == "万华"


def test_search_follows_a_rename(users, book):
    rep = users["rep1"]
    customer_update(actor=rep, customer=book["other"], data={"name": "宝山钢铁"})
    assert _found(rep, "宝山钢铁") == ["宝山钢铁"]
    assert _found(rep, "bsgt") == ["宝山钢铁"]
    assert _found(rep, "宝钢贸易") == []


def test_search_combines_with_filters(users, book):
    assert _found(users["rep1"], "上海市", kind="person") == ["张三"]
    assert _found(users["rep1"], "shanghai", city="上海市") == ["上海宝钢贸易"]


@pytest.mark.parametrize("q", ['""', '"万华', "a OR b", "NEAR(x)", "%%", "__", "万*", "\\\\"])
def test_odd_characters_in_a_query_are_searched_literally(users, book, q):
    # no 500, and no "match everything"
    assert _found(users["rep1"], q) == []


def test_contacts_are_found_by_pinyin_initials_and_mobile(users, book):
    ContactFactory(customer=book["wanhua"], name="李四", mobile="13712345678")
    rep = users["rep1"]
    for q in ["李四", "lisi", "ls", "137 1234", "+86 137 1234 5678"]:
        assert [c.name for c in contact_list(user=rep, q=q).items] == ["李四"], q
    assert contact_list(user=users["rep2"], q="lisi").items == []


def test_deleted_customers_are_not_found(users, book):
    Customer.objects.filter(pk=book["zhangsan"].pk).update(deleted_at="2025-01-01T00:00:00Z")
    assert _found(users["rep1"], "zhangsan") == []


def test_a_two_character_city_finds_the_customers_located_there(users, book):
    # given 张三, whose name does not contain the city, lives in 上海市
    # when rep1 searches the two-character city name
    # then 张三 is found, as with the full city name
    assert "张三" in _found(users["rep1"], "上海市")
    assert "张三" in _found(users["rep1"], "上海")
