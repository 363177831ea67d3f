"""The team tree: materialised paths stay consistent when teams move; managers see their
sub-teams' customers."""

import pytest
from django.core.exceptions import ValidationError

from guanxi.customers.access import customers_visible_to
from guanxi.customers.tests.factories import CustomerFactory
from guanxi.users import roles
from guanxi.users.models import Team, User
from guanxi.users.services import team_save
from guanxi.users.tests.factories import TeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def _paths() -> dict[str, str]:
    return dict(Team.objects.values_list("name", "path"))


def _expected_path(team: Team) -> str:
    ids = []
    node: Team | None = team
    while node is not None:
        ids.append(node.pk)
        node = node.parent
    return "/" + "/".join(str(i) for i in reversed(ids)) + "/"


def _assert_consistent():
    """Every team's path is its chain of ancestors, as stored in ``parent``."""
    for team in Team.objects.select_related("parent"):
        assert team.path == _expected_path(team), team.name


@pytest.fixture
def tree(teams):
    pudong = TeamFactory(name="浦东小组", parent=teams["shanghai"])
    return {**teams, "pudong": pudong}


def test_new_teams_get_their_ancestor_path(tree):
    east, shanghai, pudong = tree["east"], tree["shanghai"], tree["pudong"]
    assert east.path == f"/{east.pk}/"
    assert shanghai.path == f"/{east.pk}/{shanghai.pk}/"
    assert pudong.path == f"/{east.pk}/{shanghai.pk}/{pudong.pk}/"
    _assert_consistent()


def test_moving_a_team_moves_its_whole_subtree(tree):
    # given 上海组 (with 浦东小组 under it) in 华东
    shanghai = Team.objects.get(pk=tree["shanghai"].pk)
    untouched = {n: p for n, p in _paths().items() if n in {"杭州组", "华东销售部", "华北销售部"}}
    # when 上海组 moves under 华北
    shanghai.parent = tree["north"]
    team_save(team=shanghai)
    # then it and its sub-team carry the new path; the others are unchanged
    north = tree["north"]
    assert Team.objects.get(name="上海组").path == f"/{north.pk}/{shanghai.pk}/"
    assert (
        Team.objects.get(name="浦东小组").path == f"/{north.pk}/{shanghai.pk}/{tree['pudong'].pk}/"
    )
    assert {n: p for n, p in _paths().items() if n in untouched} == untouched
    _assert_consistent()


def test_moving_a_team_to_the_top_and_back(tree):
    shanghai = Team.objects.get(pk=tree["shanghai"].pk)
    shanghai.parent = None
    team_save(team=shanghai)
    assert Team.objects.get(name="浦东小组").path == f"/{shanghai.pk}/{tree['pudong'].pk}/"
    _assert_consistent()
    shanghai.parent = tree["east"]
    team_save(team=shanghai)
    _assert_consistent()
    assert Team.objects.get(name="浦东小组").path.startswith(tree["east"].path)


def test_renaming_a_team_keeps_paths(tree):
    before = _paths()
    shanghai = Team.objects.get(pk=tree["shanghai"].pk)
    shanghai.name = "上海一组"
    team_save(team=shanghai)
    after = _paths()
    assert after.pop("上海一组") == before.pop("上海组")
    assert after == before


@pytest.mark.parametrize("new_parent", ["shanghai", "pudong"])
def test_a_team_cannot_be_put_under_itself_or_its_sub_team(tree, new_parent):
    before = _paths()
    shanghai = Team.objects.get(pk=tree["shanghai"].pk)
    shanghai.parent = Team.objects.get(pk=tree[new_parent].pk)
    with pytest.raises(ValidationError) as exc:
        team_save(team=shanghai)
    assert "parent" in exc.value.message_dict
    assert _paths() == before
    assert Team.objects.get(pk=shanghai.pk).parent_id == tree["east"].pk


def test_similar_ids_are_not_mistaken_for_ancestors(db):
    # /1001/ is not an ancestor of /10010/ (the trailing slash separates them)
    a = team_save(team=Team(pk=1001, name="A"))
    b = team_save(team=Team(pk=10010, name="B"))
    child = team_save(team=Team(name="A-1", parent=a))
    assert set(a.subtree_ids()) == {a.pk, child.pk}
    assert set(b.subtree_ids()) == {b.pk}


def test_moving_a_team_loaded_before_its_parent_moved_keeps_the_tree_consistent(tree):
    # given 上海组 loaded, then 华东 moved under 华北 (by someone else)
    stale_shanghai = Team.objects.get(pk=tree["shanghai"].pk)
    east = Team.objects.get(pk=tree["east"].pk)
    east.parent = tree["north"]
    team_save(team=east)
    _assert_consistent()
    # when the stale 上海组 is moved to the top
    stale_shanghai.parent = None
    team_save(team=stale_shanghai)
    # then 浦东小组 still follows it
    _assert_consistent()


# --- managers and sub-teams ---------------------------------------------------------------


def _visible_names(user: User) -> set[str]:
    fresh = User.objects.get(pk=user.pk)  # scope and team caches live on the instance
    return set(customers_visible_to(fresh).values_list("name", flat=True))


def test_a_manager_sees_the_customers_of_every_sub_team(users, tree):
    pudong_rep = UserFactory(username="pudong", role=roles.SALES_REP, team=tree["pudong"])
    CustomerFactory(owner=users["rep1"], name="上海客户")
    CustomerFactory(owner=users["rep2"], name="杭州客户")
    CustomerFactory(owner=pudong_rep, name="浦东客户")
    CustomerFactory(owner=users["rep3"], name="北京客户")
    assert _visible_names(users["manager"]) == {"上海客户", "杭州客户", "浦东客户"}
    assert _visible_names(users["rep1"]) == {"上海客户"}


def test_a_sub_team_moved_away_leaves_the_managers_reach(users, tree):
    CustomerFactory(owner=users["rep1"], name="上海客户")
    CustomerFactory(owner=users["rep2"], name="杭州客户")
    north_manager = UserFactory(username="north", role=roles.SALES_MANAGER, team=tree["north"])
    # when 杭州组 moves from 华东 to 华北
    hangzhou = Team.objects.get(pk=tree["hangzhou"].pk)
    hangzhou.parent = tree["north"]
    team_save(team=hangzhou)
    # then the 华东 manager no longer sees its customers and the 华北 manager does
    assert _visible_names(users["manager"]) == {"上海客户"}
    assert _visible_names(north_manager) == {"杭州客户"}


def test_a_rep_moving_team_takes_the_scope_with_them(users, tree):
    CustomerFactory(owner=users["rep3"], name="北京客户")
    north_manager = UserFactory(username="north", role=roles.SALES_MANAGER, team=tree["north"])
    assert _visible_names(north_manager) == {"北京客户"}
    # rep3 joins 上海组 (the customer keeps its recorded team, 华北)
    User.objects.filter(pk=users["rep3"].pk).update(team=tree["shanghai"])
    assert "北京客户" in _visible_names(users["manager"])
    assert _visible_names(users["rep3"]) == {"北京客户"}
