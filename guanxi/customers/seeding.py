"""Realistic Chinese CRM data, generated fast and written in bulk.

Shared by ``manage.py demo_data`` (a few thousand customers for the demo) and
``manage.py seed`` (up to millions, for benchmarks). Rows are built as plain values and
inserted with ``bulk_create`` in batches (PostgreSQL: ``COPY``), never saved one by one.

The derived columns (``name_pinyin``, ``name_initials``, ``*_normalized``, ``search_text``)
are exactly what :func:`guanxi.customers.services.customer_prepare` computes. Pinyin is
the expensive part (~70 µs per unseen name), so :func:`fast_pinyin_keys` converts a name
word by word with pypinyin's own segmenter and caches each word; the result is identical
to :func:`guanxi.core.pinyin.pinyin_keys` (checked on a sample of every batch and in the
tests), at ~12 µs per name.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from importlib import import_module
from itertools import chain
from typing import Any, TypedDict

from django.db import connection, models, transaction
from django.utils import timezone

from guanxi.activities.models import AuditEntry
from guanxi.core.pinyin import PINYIN_MAX_LENGTH, pinyin_keys
from guanxi.core.validators import normalize_phone, uscc_check_character
from guanxi.customers.models import Address, Contact, ContactLink, Customer
from guanxi.customers.search import FTS_TABLE, build_search_text, compose_search_text

# --- reference data ------------------------------------------------------------------


@dataclass(frozen=True)
class City:
    province: str
    name: str  # as stored in Customer.city (the Region name, e.g. 杭州市 / 上海市)
    area_code: str
    postcode: str
    region_code: str  # GB/T 2260 code of the city, used in Unified Social Credit Codes
    districts: tuple[str, ...]
    weight: int = 1

    @property
    def short(self) -> str:
        """The name used inside company names: 杭州 for 杭州市."""
        for suffix in ("市",):
            if self.name.endswith(suffix) and len(self.name) > 2:
                return self.name[: -len(suffix)]
        return self.name


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _city(province, name, area, post, code, districts, weight=1):
    return City(province, name, area, post, code, tuple(districts.split()), weight)


CITIES: tuple[City, ...] = (
    _city(
        "上海市",
        "上海市",
        "021",
        "200000",
        "310100",
        "黄浦区 徐汇区 长宁区 静安区 普陀区 浦东新区 闵行区 嘉定区 松江区",
        12,
    ),
    _city(
        "北京市",
        "北京市",
        "010",
        "100000",
        "110100",
        "东城区 西城区 朝阳区 海淀区 丰台区 通州区 昌平区 大兴区",
        10,
    ),
    _city(
        "浙江省",
        "杭州市",
        "0571",
        "310000",
        "330100",
        "上城区 拱墅区 西湖区 滨江区 萧山区 余杭区 临平区 钱塘区",
        10,
    ),
    _city(
        "广东省",
        "深圳市",
        "0755",
        "518000",
        "440300",
        "福田区 罗湖区 南山区 宝安区 龙岗区 龙华区",
        9,
    ),
    _city(
        "广东省",
        "广州市",
        "020",
        "510000",
        "440100",
        "越秀区 海珠区 天河区 白云区 番禺区 黄埔区",
        8,
    ),
    _city("江苏省", "苏州市", "0512", "215000", "320500", "姑苏区 虎丘区 吴中区 相城区 吴江区", 6),
    _city("江苏省", "南京市", "025", "210000", "320100", "玄武区 秦淮区 鼓楼区 建邺区 江宁区", 5),
    _city("浙江省", "宁波市", "0574", "315000", "330200", "海曙区 江北区 鄞州区 北仑区", 4),
    _city(
        "四川省",
        "成都市",
        "028",
        "610000",
        "510100",
        "锦江区 青羊区 金牛区 武侯区 成华区 双流区",
        5,
    ),
    _city("湖北省", "武汉市", "027", "430000", "420100", "江岸区 江汉区 武昌区 洪山区 汉阳区", 4),
    _city("重庆市", "重庆市", "023", "400000", "500100", "渝中区 江北区 南岸区 九龙坡区 渝北区", 4),
    _city("天津市", "天津市", "022", "300000", "120100", "和平区 河西区 南开区 滨海新区", 3),
    _city("江苏省", "无锡市", "0510", "214000", "320200", "梁溪区 滨湖区 新吴区 锡山区", 3),
    _city("江苏省", "常州市", "0519", "213000", "320400", "天宁区 钟楼区 新北区 武进区", 2),
    _city("浙江省", "温州市", "0577", "325000", "330300", "鹿城区 龙湾区 瓯海区", 2),
    _city("广东省", "东莞市", "0769", "523000", "441900", "莞城街道 南城街道 东城街道 长安镇", 3),
    _city("广东省", "佛山市", "0757", "528000", "440600", "禅城区 南海区 顺德区", 3),
    _city("山东省", "青岛市", "0532", "266000", "370200", "市南区 市北区 黄岛区 崂山区", 3),
    _city("山东省", "济南市", "0531", "250000", "370100", "历下区 市中区 槐荫区 历城区", 2),
    _city("湖南省", "长沙市", "0731", "410000", "430100", "芙蓉区 天心区 岳麓区 开福区 雨花区", 3),
    _city("河南省", "郑州市", "0371", "450000", "410100", "中原区 二七区 金水区 管城回族区", 3),
    _city("陕西省", "西安市", "029", "710000", "610100", "新城区 碑林区 莲湖区 雁塔区 未央区", 3),
    _city("福建省", "厦门市", "0592", "361000", "350200", "思明区 湖里区 集美区 海沧区", 2),
    _city("福建省", "福州市", "0591", "350000", "350100", "鼓楼区 台江区 仓山区 晋安区", 2),
    _city("安徽省", "合肥市", "0551", "230000", "340100", "瑶海区 庐阳区 蜀山区 包河区", 2),
    _city("河北省", "石家庄市", "0311", "050000", "130100", "长安区 桥西区 新华区 裕华区", 2),
    _city("江西省", "南昌市", "0791", "330000", "360100", "东湖区 西湖区 青云谱区 红谷滩区", 1),
    _city("辽宁省", "沈阳市", "024", "110000", "210100", "和平区 沈河区 皇姑区 铁西区", 2),
    _city("辽宁省", "大连市", "0411", "116000", "210200", "中山区 西岗区 沙河口区 甘井子区", 2),
    _city("吉林省", "长春市", "0431", "130000", "220100", "南关区 宽城区 朝阳区 绿园区", 1),
    _city("黑龙江省", "哈尔滨市", "0451", "150000", "230100", "道里区 南岗区 道外区 香坊区", 1),
    _city("山西省", "太原市", "0351", "030000", "140100", "小店区 迎泽区 杏花岭区 万柏林区", 1),
    _city("云南省", "昆明市", "0871", "650000", "530100", "五华区 盘龙区 官渡区 西山区", 1),
    _city(
        "广西壮族自治区", "南宁市", "0771", "530000", "450100", "兴宁区 青秀区 江南区 西乡塘区", 1
    ),
    _city("贵州省", "贵阳市", "0851", "550000", "520100", "南明区 云岩区 花溪区 观山湖区", 1),
    _city("海南省", "海口市", "0898", "570000", "460100", "秀英区 龙华区 琼山区 美兰区", 1),
    _city("甘肃省", "兰州市", "0931", "730000", "620100", "城关区 七里河区 西固区 安宁区", 1),
    _city("宁夏回族自治区", "银川市", "0951", "750000", "640100", "兴庆区 西夏区 金凤区", 1),
    _city(
        "新疆维吾尔自治区",
        "乌鲁木齐市",
        "0991",
        "830000",
        "650100",
        "天山区 沙依巴克区 新市区 水磨沟区",
        1,
    ),
    _city(
        "内蒙古自治区", "呼和浩特市", "0471", "010000", "150100", "新城区 回民区 玉泉区 赛罕区", 1
    ),
)
CITY_BY_NAME = {c.name: c for c in CITIES}

# 字号: the distinctive part of a company name.
TRADE_NAMES = _words(
    """万华 恒通 鑫达 金盛 永泰 宏远 华信 中和 天成 嘉禾 瑞丰 汇通 博雅 联创 德润 新宇 正泰 海天
    东方 长城 明德 远大 华瑞 盛世 锦程 瑞达 天宇 信达 安泰 恒昌 隆鑫 福瑞 光明 创新 中科 金桥
    海纳 凯旋 宏达 润丰 华泰 国信 鼎盛 汇金 兴业 鸿运 佳和 金鼎 新锐 卓越 优品 蓝天 绿源 华夏
    万通 天合 伟业 富达 荣盛 弘毅 致远 启明 星河 远航 云海 赛德 百川 九州 三和 一诺 千禧 中诚
    合力 泰和 顺达 通达 永安 康宁 仁和 和信 诚信 嘉信 宝丰 金达 东升 旭日 朝阳 华美 美达 金源
    聚源 源丰 瑞祥 祥和 和顺 昌盛 盛达 泰康 康华 华兴 兴达 立信 精工 科宏 海川 汇智 智联 华联
    金润 恒瑞 恒信 信和 君安 安信 银河 天马 飞鹰 雄狮 青松 翠竹 丰收 金穗 鑫源 宏图 开元 长青
    博远 至诚 同创 协力 众合 永辉 晨光 曙光 华腾 腾飞 奥捷 迅达 天恒 德胜 博瑞 思远 卓信"""
)

# (industry word, GB/T 4754 section, weight)
INDUSTRY_WORDS: tuple[tuple[str, str, int], ...] = (
    ("化工", "C", 6),
    ("机械", "C", 8),
    ("电子", "C", 7),
    ("精密制造", "C", 3),
    ("新材料", "C", 3),
    ("纺织", "C", 3),
    ("食品", "C", 4),
    ("医药", "C", 3),
    ("医疗器械", "C", 2),
    ("汽车配件", "C", 3),
    ("包装材料", "C", 2),
    ("五金制品", "C", 3),
    ("科技", "I", 10),
    ("信息技术", "I", 5),
    ("软件", "I", 4),
    ("网络科技", "I", 4),
    ("贸易", "F", 9),
    ("商贸", "F", 6),
    ("进出口", "F", 4),
    ("供应链管理", "F", 2),
    ("建设工程", "E", 4),
    ("建筑装饰", "E", 3),
    ("物流", "G", 5),
    ("运输", "G", 2),
    ("餐饮管理", "H", 2),
    ("酒店管理", "H", 1),
    ("投资管理", "J", 2),
    ("融资租赁", "J", 1),
    ("房地产开发", "K", 2),
    ("物业管理", "K", 2),
    ("企业管理咨询", "L", 3),
    ("广告", "L", 2),
    ("人力资源", "L", 2),
    ("生物科技", "M", 3),
    ("检测技术", "M", 2),
    ("环保工程", "N", 2),
    ("家政服务", "O", 1),
    ("教育科技", "P", 2),
    ("健康管理", "Q", 1),
    ("文化传媒", "R", 3),
    ("农业发展", "A", 2),
    ("矿业", "B", 1),
    ("能源", "D", 2),
    ("电力设备", "D", 1),
)
COMPANY_SUFFIXES: tuple[tuple[str, int], ...] = (
    ("有限公司", 70),
    ("有限责任公司", 12),
    ("股份有限公司", 10),
    ("集团有限公司", 5),
    ("经营部", 3),
)

SURNAMES: tuple[tuple[str, int], ...] = tuple(
    (s, w)
    for w, group in (
        (12, "王 李 张 刘 陈"),
        (6, "杨 黄 赵 吴 周 徐 孙 马 朱 胡"),
        (3, "郭 何 高 林 罗 郑 梁 谢 宋 唐 许 韩 冯 邓 曹 彭 曾 肖 田 董"),
        (2, "袁 潘 于 蒋 蔡 余 杜 叶 程 苏 魏 吕 丁 任 沈 姚 卢 姜 崔 钟 谭 陆 汪 范 金"),
        (
            1,
            "石 廖 贾 夏 韦 付 方 白 邹 孟 熊 秦 邱 江 尹 薛 闫 段 雷 侯 龙 史 陶 黎 贺 顾"
            " 毛 郝 龚 邵 万 钱 严 覃 武 戴 莫 孔 向 汤 欧阳 司马 上官 诸葛",
        ),
    )
    for s in group.split()
)
GIVEN_MALE = _words(
    "伟 强 磊 军 勇 杰 涛 明 超 刚 平 辉 鹏 华 飞 鑫 波 斌 宇 浩 凯 健 俊 帆 帅 旭 宁 龙 林 阳 "
    "建国 建华 志强 志明 国强 海涛 晓东 文博 子轩 浩然 宇航 俊杰 天佑 家豪 振华 永刚"
)
GIVEN_FEMALE = _words(
    "芳 娜 敏 静 丽 艳 娟 霞 秀英 燕 玲 桂英 丹 萍 红 玉兰 婷 雪 琳 晶 颖 倩 璐 "
    "欣怡 梓涵 诗涵 雨桐 思琪 佳怡 晓燕 美玲 丽娟 海燕 秀兰 文静 慧敏 雅婷"
)

MOBILE_PREFIXES = _words(
    "130 131 132 133 134 135 136 137 138 139 145 147 150 151 152 153 155 156 157 158 159 "
    "166 170 171 173 175 176 177 178 180 181 182 183 184 185 186 187 188 189 191 193 195 "
    "196 198 199"
)
PERSONAL_MAIL_DOMAINS = ("qq.com", "163.com", "126.com", "sina.com", "foxmail.com", "139.com")
STREET_WORDS = _words(
    "人民 解放 中山 建设 和平 文化 新华 友谊 胜利 长江 黄河 科技 创业 学院 "
    "工业 东风 滨江 世纪 南京 北京 延安 凤凰 金融 湖滨"
)
STREET_KINDS = ("路", "大道", "街", "北路", "南路", "东路", "西路")
BUILDINGS = ("大厦", "广场", "科技园", "中心", "产业园", "国际大厦")

CONTACT_ROLES: tuple[tuple[str, str, int], ...] = (
    ("总经理", "总经办", 5),
    ("副总经理", "总经办", 2),
    ("董事长", "董事会", 1),
    ("采购经理", "采购部", 6),
    ("采购专员", "采购部", 4),
    ("财务主管", "财务部", 4),
    ("财务经理", "财务部", 2),
    ("技术总监", "技术部", 2),
    ("工程师", "技术部", 3),
    ("销售总监", "销售部", 2),
    ("行政主管", "行政部", 2),
    ("IT 经理", "信息部", 2),
    ("生产经理", "生产部", 2),
    ("质量经理", "质量部", 1),
    ("项目经理", "项目部", 2),
)
NOTE_SNIPPETS = (
    "客户对报价比较敏感，建议下次拜访带上新品资料。",
    "已寄送样品，等待客户测试反馈。",
    "年底有集中采购计划，需提前准备招投标材料。",
    "客户财务要求开具增值税专用发票。",
    "老客户，合作稳定，注意维护关系。",
    "上次展会认识，对我们的售后服务很感兴趣。",
)

CHANNEL_NAMES = (
    "展会",
    "官网",
    "老客户介绍",
    "电话营销",
    "微信公众号",
    "阿里巴巴",
    "百度推广",
    "合作伙伴",
)
TAG_NAMES: tuple[tuple[str, str], ...] = (
    ("重点跟进", "#dc2626"),
    ("VIP", "#d97706"),
    ("经销商", "#2563eb"),
    ("招投标", "#7c3aed"),
    ("老客户", "#059669"),
    ("价格敏感", "#db2777"),
    ("待回访", "#0891b2"),
    ("海外业务", "#4b5563"),
)

TIER_WEIGHTS = ((Customer.Tier.KEY, 10), (Customer.Tier.SUITABLE, 30), (Customer.Tier.ORDINARY, 60))
STATUS_WEIGHTS = (
    (Customer.Status.PROSPECT, 35),
    (Customer.Status.ACTIVE, 40),
    (Customer.Status.DORMANT, 15),
    (Customer.Status.LOST, 10),
)

# GB 11714 organisation code: 8 characters + a check character (positions 9-17 of a USCC).
_ORG_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


# --- pinyin, fast and exact ------------------------------------------------------------


def _keep(chars: str) -> list[str]:
    return list(chars)


try:  # pypinyin's own segmenter and converter, as used by lazy_pinyin()
    from pypinyin import Style
    from pypinyin.core import (  # type: ignore[attr-defined]  # _default_pinyin: not in stubs
        Pinyin,
        _default_pinyin,
    )

    _default_pinyin.seg  # noqa: B018
    _default_pinyin._converter.convert  # noqa: B018
    _PINYIN: Pinyin | None = _default_pinyin
except (ImportError, AttributeError):  # pragma: no cover - other pypinyin versions
    _PINYIN = None


@lru_cache(maxsize=200_000)
def _word_keys(word: str) -> tuple[str, str]:
    full: list[str] = []
    initials: list[str] = []
    assert _PINYIN is not None  # only called by fast_pinyin_keys(), which checks
    # The stubs type ``errors`` as returning str; pypinyin also accepts a list (as lazy_pinyin).
    pys = _PINYIN._converter.convert(
        word,
        Style.NORMAL,
        False,
        _keep,  # type: ignore[arg-type]
        strict=True,
    )
    for part in chain(*pys):
        part = part.strip().lower()
        if not part or not part.isalnum():
            continue
        full.append(part)
        initials.append(part[0])
    return "".join(full), "".join(initials)


def fast_pinyin_keys(text: str) -> tuple[str, str]:
    """Same result as :func:`guanxi.core.pinyin.pinyin_keys`, caching word by word."""
    if not text:
        return "", ""
    if _PINYIN is None:  # pragma: no cover
        return pinyin_keys(text)
    full: list[str] = []
    initials: list[str] = []
    for word in _PINYIN.seg(text):
        f, i = _word_keys(word)
        full.append(f)
        initials.append(i)
    return "".join(full)[:PINYIN_MAX_LENGTH], "".join(initials)


def search_columns(name: str, values: Sequence[str]) -> tuple[str, str, str]:
    """(name_pinyin, name_initials, search_text), as ``build_search_text`` returns them."""
    full, initials = fast_pinyin_keys(name)
    return (
        full,
        initials,
        compose_search_text(name=name, full=full, initials=initials, values=values),
    )


class DerivedColumnMismatch(AssertionError):
    pass


def check_search_columns(name: str, values: Sequence[str]) -> None:
    """Raise if the fast path and ``build_search_text`` ever disagree (e.g. after a change
    to search.py): seeded rows must be indistinguishable from rows saved by the services."""
    expected = build_search_text(name=name, values=list(values))
    got = search_columns(name, values)
    if got != expected:
        raise DerivedColumnMismatch(
            f"seeding.search_columns() differs from search.build_search_text() for {name!r}: "
            f"{got!r} != {expected!r}; update guanxi/customers/seeding.py"
        )


# --- the generator ----------------------------------------------------------------------


def _weighted(pairs: Sequence[tuple]) -> tuple[list, list[int]]:
    items = [p[:-1] if len(p) > 2 else p[0] for p in pairs]
    cum: list[int] = []
    total = 0
    for p in pairs:
        total += p[-1]
        cum.append(total)
    return items, cum


@dataclass
class Owner:
    user_id: int | None
    team_id: int | None
    weight: int = 1
    label: str = ""


class CustomerRow(TypedDict, total=False):
    """The field values (attnames) :meth:`Generator.customer` returns."""

    kind: str
    industry: str
    uscc: str
    website: str
    phone: str
    mobile: str
    email: str
    gender: str
    birthday: date | None
    lunar_birthday: str
    notes: str
    remarks: dict[str, Any]
    name: str
    name_pinyin: str
    name_initials: str
    search_text: str
    mobile_normalized: str
    phone_normalized: str
    province: str
    city: str
    tier: str
    status: str
    owner_id: int | None
    team_id: int | None
    channel_id: int | None
    created_at: datetime
    updated_at: datetime


class Generator:
    """Deterministic (for a given ``seed``) realistic customers, contacts and addresses."""

    def __init__(
        self, seed: int = 20240601, *, now: datetime | None = None, history_days: int = 3 * 365
    ) -> None:
        self.rng = random.Random(seed)
        self.now = now or timezone.now()
        self.history_seconds = history_days * 86400
        self._cities, self._city_cum = _weighted([(c, c.weight) for c in CITIES])
        self._industries, self._industry_cum = _weighted(INDUSTRY_WORDS)
        self._suffixes, self._suffix_cum = _weighted(COMPANY_SUFFIXES)
        self._surnames, self._surname_cum = _weighted(SURNAMES)
        self._roles, self._role_cum = _weighted(CONTACT_ROLES)
        self._tiers, self._tier_cum = _weighted(TIER_WEIGHTS)
        self._statuses, self._status_cum = _weighted(STATUS_WEIGHTS)

    def _pick(self, items: list, cum: list[int]):
        return self.rng.choices(items, cum_weights=cum)[0]

    # values ---------------------------------------------------------------------------
    def city(self) -> City:
        return self._pick(self._cities, self._city_cum)

    def person_name(self, gender: str | None = None) -> tuple[str, str]:
        rng = self.rng
        gender = gender or ("male" if rng.random() < 0.55 else "female")
        given = rng.choice(GIVEN_MALE if gender == "male" else GIVEN_FEMALE)
        if len(given) == 1 and rng.random() < 0.35:
            given += rng.choice(GIVEN_MALE if gender == "male" else GIVEN_FEMALE)[0]
        return self._pick(self._surnames, self._surname_cum) + given, gender

    def company_name(self, city: City) -> tuple[str, str, str]:
        """(name, industry section, trade name), e.g. 杭州万华化工有限公司."""
        word, section = self._pick(self._industries, self._industry_cum)
        trade = self.rng.choice(TRADE_NAMES)
        suffix = self._pick(self._suffixes, self._suffix_cum)
        if self.rng.random() < 0.12:  # 浙江万华…: some are named after the province
            prefix = city.province.removesuffix("省").removesuffix("市")
            prefix = prefix.removesuffix("壮族自治区").removesuffix("回族自治区")
            prefix = prefix.removesuffix("维吾尔自治区").removesuffix("自治区")
        else:
            prefix = city.short
        return f"{prefix}{trade}{word}{suffix}", section, trade

    def mobile(self) -> str:
        return self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"

    def landline(self, city: City) -> str:
        digits = 8 if len(city.area_code) == 3 or self.rng.random() < 0.8 else 7
        first = self.rng.choice("2345678")
        rest = self.rng.randrange(10 ** (digits - 1))
        return f"{city.area_code}-{first}{rest:0{digits - 1}d}"

    def uscc(self, city: City) -> str:
        org = "".join(
            self.rng.choice(_ORG_ALPHABET[:10] if i < 2 else _ORG_ALPHABET) for i in range(8)
        )
        total = sum(_ORG_ALPHABET.index(ch) * w for ch, w in zip(org, _ORG_WEIGHTS, strict=True))
        check = 11 - total % 11
        org += "X" if check == 10 else "0" if check == 11 else str(check)
        district = city.region_code[:4] + f"{self.rng.randrange(1, 20):02d}"
        first17 = "91" + district + org
        return first17 + uscc_check_character(first17)

    def moment(self) -> tuple[datetime, datetime]:
        created = self.now - timedelta(seconds=self.rng.randrange(self.history_seconds))
        span = int((self.now - created).total_seconds())
        updated = (
            created + timedelta(seconds=self.rng.randrange(span + 1))
            if (self.rng.random() < 0.6)
            else created
        )
        return created, updated

    def birthday(self) -> date:
        return date(
            self.rng.randrange(1960, 2003), self.rng.randrange(1, 13), self.rng.randrange(1, 29)
        )

    # rows -------------------------------------------------------------------------------
    def customer(
        self,
        *,
        owner: Owner,
        channel_ids: Sequence[int] = (),
        kind: str | None = None,
        name: str | None = None,
        city: City | None = None,
    ) -> CustomerRow:
        """Field values of one customer (attnames), derived columns included."""
        rng = self.rng
        city = city or self.city()
        kind = kind or (Customer.Kind.COMPANY if rng.random() < 0.75 else Customer.Kind.PERSON)
        created, updated = self.moment()
        row: CustomerRow = {
            "kind": str(kind),
            "industry": "",
            "uscc": "",
            "website": "",
            "phone": "",
            "mobile": "",
            "email": "",
            "gender": "",
            "birthday": None,
            "lunar_birthday": "",
            "notes": "",
            "remarks": {},
        }
        if kind == Customer.Kind.COMPANY:
            generated, section, trade = self.company_name(city)
            name = name or generated
            domain = fast_pinyin_keys(trade)[0] + rng.choice(("", "", "tech", "group", "china"))
            domain += rng.choice((".com", ".com.cn", ".cn", ".net"))
            row["industry"] = section
            row["phone"] = self.landline(city)
            if rng.random() < 0.4:
                row["mobile"] = self.mobile()
            row["email"] = rng.choice(("info", "sales", "service", "contact", "hr")) + "@" + domain
            row["website"] = "https://www." + domain if rng.random() < 0.6 else ""
            if rng.random() < 0.6:
                row["uscc"] = self.uscc(city)
        else:
            generated, gender = self.person_name()
            name = name or generated
            row["gender"] = gender
            row["mobile"] = self.mobile()
            if rng.random() < 0.5:
                full = fast_pinyin_keys(name)[0]
                row["email"] = f"{full}{rng.randrange(1, 1000)}@{rng.choice(PERSONAL_MAIL_DOMAINS)}"
            if rng.random() < 0.6:
                row["birthday"] = self.birthday()
            if rng.random() < 0.2:
                row["lunar_birthday"] = f"{rng.randrange(1, 13):02d}-{rng.randrange(1, 31):02d}"
        mobile_normalized = row["mobile"]
        phone_normalized = normalize_phone(row["phone"])
        values = [
            mobile_normalized,
            phone_normalized,
            row["email"],
            row["uscc"].lower(),
            city.name,
            city.province,
        ]
        full, initials, text = search_columns(name, values)
        row.update(
            {
                "name": name,
                "name_pinyin": full,
                "name_initials": initials,
                "search_text": text,
                "mobile_normalized": mobile_normalized,
                "phone_normalized": phone_normalized,
                "province": city.province,
                "city": city.name,
                "tier": str(self._pick(self._tiers, self._tier_cum)),
                "status": str(self._pick(self._statuses, self._status_cum)),
                "owner_id": owner.user_id,
                "team_id": owner.team_id,
                "channel_id": rng.choice(channel_ids)
                if channel_ids and rng.random() < 0.8
                else None,
                "created_at": created,
                "updated_at": updated,
            }
        )
        return row

    def address(self, customer: dict) -> dict:
        rng = self.rng
        city = CITY_BY_NAME[customer["city"]]
        street = f"{rng.choice(STREET_WORDS)}{rng.choice(STREET_KINDS)}{rng.randrange(1, 999)}号"
        if customer["kind"] == Customer.Kind.COMPANY and rng.random() < 0.6:
            street += f"{rng.choice(TRADE_NAMES)}{rng.choice(BUILDINGS)}{rng.randrange(2, 30)}楼"
        elif customer["kind"] == Customer.Kind.PERSON:
            room = rng.randrange(101, 2999)
            street += f"{rng.randrange(1, 30)}幢{rng.randrange(1, 6)}单元{room}室"
        return {
            "kind": Address.Kind.OFFICE
            if customer["kind"] == Customer.Kind.COMPANY
            else Address.Kind.HOME,
            "province": city.province,
            "city": city.name,
            "district": rng.choice(city.districts),
            "street": street,
            "postcode": city.postcode[:4] + f"{rng.randrange(0, 100):02d}",
            "is_primary": True,
            "created_at": customer["created_at"],
            "updated_at": customer["created_at"],
        }

    def contact(self, customer: dict, *, primary: bool) -> tuple[dict, dict]:
        """(contact values, link values) for a company's contact person."""
        rng = self.rng
        name, gender = self.person_name()
        full, initials = fast_pinyin_keys(name)
        domain = customer["email"].split("@", 1)[1] if "@" in customer["email"] else ""
        mobile = self.mobile()
        title, department = self._pick(self._roles, self._role_cum)
        contact = {
            "name": name,
            "name_pinyin": full,
            "name_initials": initials,
            "gender": gender,
            "mobile": mobile,
            "mobile_normalized": mobile,
            "phone": customer["phone"] if rng.random() < 0.3 else "",
            "email": f"{full}@{domain}" if domain and rng.random() < 0.7 else "",
            "wechat": f"wx_{full}{rng.randrange(10, 9999)}" if rng.random() < 0.4 else "",
            "birthday": self.birthday() if rng.random() < 0.2 else None,
            "notes": "",
            "created_at": customer["created_at"],
            "updated_at": customer["created_at"],
        }
        link = {"title": title, "department": department, "is_primary": primary}
        return contact, link


# --- writing -----------------------------------------------------------------------------


@dataclass
class SeedResult:
    customers: int = 0
    contacts: int = 0
    addresses: int = 0
    audit_entries: int = 0
    seconds: float = 0.0
    first_id: int | None = None
    last_id: int | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.customers / self.seconds if self.seconds else 0.0


@contextmanager
def explicit_timestamps(*model_classes: type[models.Model]) -> Iterator[None]:
    """Let bulk_create keep the given created_at / updated_at (auto_now fields)."""
    # DateTimeField is a DateField; TimeField is the other field with auto_now(_add).
    saved: list[tuple[models.DateField | models.TimeField, bool, bool]] = []
    for model in model_classes:
        for f in model._meta.concrete_fields:
            if isinstance(f, models.DateField | models.TimeField) and (
                f.auto_now or f.auto_now_add
            ):
                saved.append((f, f.auto_now, f.auto_now_add))
                f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


# SQLite: the FTS insert trigger, taken from the migration that creates it.
_SEARCH_MIGRATION = import_module("guanxi.customers.migrations.0003_customer_search_index")
SQLITE_FTS_INSERT_TRIGGER = next(
    sql for sql in _SEARCH_MIGRATION.SQLITE_FORWARD if "customers_customer_fts_ai" in sql
)


def _postgres_secondary_indexes(cursor, table: str) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of the indexes of ``table`` that back no constraint."""
    cursor.execute(
        """SELECT i.relname, pg_get_indexdef(i.oid)
             FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
            WHERE x.indrelid = %s::regclass
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid)""",
        [table],
    )
    return list(cursor.fetchall())


@contextmanager
def _postgres_indexes_deferred(cursor, tables: Sequence[str], notes: list[str]) -> Iterator[None]:
    """Drop the secondary indexes of ``tables``; recreate them after the load (in the same
    transaction, so a failed seed leaves them as they were)."""
    dropped: list[tuple[str, str]] = []
    for table in tables:
        dropped += _postgres_secondary_indexes(cursor, table)
    for name, _sql in dropped:
        cursor.execute(f'DROP INDEX "{name}"')
    yield
    cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
    started = time.perf_counter()
    for name, sql in dropped:
        one = time.perf_counter()
        cursor.execute(sql)
        if time.perf_counter() - one > 5:
            notes.append(f"index {name} rebuilt in {time.perf_counter() - one:.1f}s")
    notes.append(f"{len(dropped)} indexes rebuilt in {time.perf_counter() - started:.1f}s")


# Fields a ``fixed`` customer may set besides kind, name, city and owner (none of them
# feeds the search columns).
FIXED_OVERRIDABLE = {"tier", "status", "industry", "notes", "website", "channel_id"}
CUSTOMER_COLUMNS = [f.attname for f in Customer._meta.concrete_fields]
TAGS_THROUGH = Customer.tags.through


def _audit_row(customer: dict, *, actor_id: int | None, message: str) -> dict:
    return {
        "customer_id": customer["id"],
        "subject_type": "customer",
        "subject_id": customer["id"],
        "subject_label": customer["name"][:200],
        "action": AuditEntry.Action.CREATE.value,
        "actor_id": actor_id,
        "changes": {"name": [None, customer["name"]]},
        "message": message,
        "created_at": customer["created_at"],
    }


class Writer:
    """Portable writer: ``bulk_create`` (auto_now switched off so generated times stay)."""

    def __init__(self, cursor) -> None:
        self.cursor = cursor

    def insert(self, model: type[models.Model], rows: list[dict], *, ids: bool = False) -> None:
        objs = [model(**row) for row in rows]
        with explicit_timestamps(model):
            model.objects.bulk_create(objs)  # type: ignore[attr-defined]
        if ids:
            for row, obj in zip(rows, objs, strict=True):
                row["id"] = obj.pk


class RawWriter(Writer):
    """SQLite and PostgreSQL: explicit ids, rows written without the ORM's per-value work —
    ``executemany`` on SQLite (ids follow MAX(id) under the transaction's write lock),
    ``COPY`` on PostgreSQL (ids reserved from the table's sequence)."""

    def __init__(self, cursor) -> None:
        super().__init__(cursor)
        self.vendor = connection.vendor
        self._specs: dict[type[models.Model], tuple[str, list[str], list]] = {}

    def _spec(self, model: type[models.Model]) -> tuple[str, list[str], list]:
        if model not in self._specs:
            ops = connection.ops
            columns, converters = [], []
            for f in model._meta.concrete_fields:
                columns.append(f.attname)
                conv: Callable[[Any], Any] | None = None
                if isinstance(f, models.JSONField):
                    conv = _json
                elif self.vendor == "sqlite" and isinstance(f, models.DateTimeField):
                    conv = ops.adapt_datetimefield_value
                elif self.vendor == "sqlite" and isinstance(f, models.DateField):
                    conv = ops.adapt_datefield_value
                converters.append(conv)
            self._specs[model] = (model._meta.db_table, columns, converters)
        return self._specs[model]

    def _reserve(self, table: str, count: int) -> list[int]:
        if self.vendor == "postgresql":
            self.cursor.execute(
                f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "
                "FROM generate_series(1, %s)",
                [count],
            )
            return [r[0] for r in self.cursor.fetchall()]
        self.cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
        top = self.cursor.fetchone()[0]
        self.cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        seq = self.cursor.fetchone()
        first = max(top, seq[0] if seq else 0) + 1
        return list(range(first, first + count))

    def insert(self, model: type[models.Model], rows: list[dict], *, ids: bool = False) -> None:
        table, columns, converters = self._spec(model)
        if ids or model._meta.pk.attname not in rows[0]:
            if ids:
                for row, pk in zip(rows, self._reserve(table, len(rows)), strict=True):
                    row["id"] = pk
            else:
                keep = [i for i, c in enumerate(columns) if c != model._meta.pk.attname]
                columns = [columns[i] for i in keep]
                converters = [converters[i] for i in keep]
        pairs = list(zip(columns, converters, strict=True))
        values = [[row[c] if conv is None else conv(row[c]) for c, conv in pairs] for row in rows]
        if self.vendor == "postgresql":
            with self.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for value in values:
                    copy.write_row(value)
        else:
            placeholders = ", ".join(["%s"] * len(columns))
            self.cursor.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})", values
            )


def _json(value) -> str:
    return json.dumps(value if value is not None else {}, ensure_ascii=False)


def _defaults(model: type[models.Model]) -> dict:
    """Defaults of the columns a generated row does not set (deleted_at, merged_into…)."""
    out = {}
    for f in model._meta.concrete_fields:
        if f.primary_key:
            continue
        out[f.attname] = f.get_default()
    return out


def seed_customers(
    *,
    count: int,
    owners: Sequence[Owner],
    unowned_weight: int = 0,
    channel_ids: Sequence[int] = (),
    tag_ids: Sequence[int] = (),
    contacts_per_customer: int | tuple[int, int] = 1,
    addresses: bool = True,
    batch_size: int = 5000,
    seed: int = 20240601,
    actor_id: int | None = None,
    audit_message: str = "seed",
    generator: Generator | None = None,
    defer_indexes: bool | None = None,
    use_raw: bool | None = None,
    fixed: Sequence[dict] = (),
    progress: Callable[[int, float], None] | None = None,
) -> SeedResult:
    """Insert ``count`` generated customers (plus ``fixed`` ones, given as keyword arguments
    to :meth:`Generator.customer`) with their contacts, primary address, tags and one
    "create" audit entry each, in one transaction.

    ``defer_indexes`` (default: when ``count`` >= 50,000 and at least doubles the table)
    builds indexes once at the end instead of row by row: SQLite drops the FTS insert
    trigger, indexes the new rows in one statement and restores the trigger; PostgreSQL
    drops and recreates the secondary indexes of the tables written (same transaction).
    ``use_raw`` (default on SQLite and PostgreSQL) writes with ``executemany`` / ``COPY``
    and explicit ids instead of ``bulk_create``.
    """
    gen = generator or Generator(seed)
    vendor = connection.vendor
    if defer_indexes is None:  # worth it when the seed at least doubles the table
        defer_indexes = count >= 50_000 and count >= Customer.objects.count()
    owner_pool = list(owners)
    if unowned_weight:
        owner_pool.append(Owner(None, None, unowned_weight, "unowned"))
    if not owner_pool:
        owner_pool = [Owner(None, None, 1, "unowned")]
    owner_items, owner_cum = _weighted([(o, o.weight) for o in owner_pool])
    k_min, k_max = (
        contacts_per_customer
        if isinstance(contacts_per_customer, tuple)
        else (contacts_per_customer, contacts_per_customer)
    )
    customer_defaults = _defaults(Customer)
    contact_defaults = _defaults(Contact)
    result = SeedResult()
    started = time.perf_counter()
    plan: list[dict | None] = [dict(f) for f in fixed] + [None] * count
    tables = [Customer._meta.db_table]
    if k_max:
        tables += [Contact._meta.db_table, ContactLink._meta.db_table]
    if addresses:
        tables.append(Address._meta.db_table)
    tables.append(AuditEntry._meta.db_table)
    if tag_ids:
        tables.append(TAGS_THROUGH._meta.db_table)

    with transaction.atomic(), connection.cursor() as cursor:
        raw = use_raw if use_raw is not None else vendor in ("sqlite", "postgresql")
        writer: Writer = RawWriter(cursor) if raw else Writer(cursor)
        if defer_indexes and vendor == "sqlite":
            cursor.execute("DROP TRIGGER IF EXISTS customers_customer_fts_ai")
            deferral = _nullcontext()
        elif defer_indexes and vendor == "postgresql":
            # Check foreign keys as each COPY ends: deferred checks would still be pending
            # when the indexes are recreated (PostgreSQL refuses that).
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            deferral = _postgres_indexes_deferred(cursor, tables, result.notes)
        else:
            deferral = _nullcontext()
        with deferral:
            for start in range(0, len(plan), batch_size):
                chunk = plan[start : start + batch_size]
                rows = []
                for i, spec in enumerate(chunk):
                    owner = gen.rng.choices(owner_items, cum_weights=owner_cum)[0]
                    kwargs = dict(spec) if spec else {}
                    owner = kwargs.pop("owner", owner)
                    extra = {k: kwargs.pop(k) for k in list(kwargs) if k in FIXED_OVERRIDABLE}
                    row = {
                        **customer_defaults,
                        **gen.customer(owner=owner, channel_ids=channel_ids, **kwargs),
                        **extra,
                    }
                    if i % 997 == 0 or spec:
                        check_search_columns(
                            row["name"],
                            [
                                row["mobile_normalized"],
                                row["phone_normalized"],
                                row["email"],
                                row["uscc"].lower(),
                                row["city"],
                                row["province"],
                            ],
                        )
                    rows.append(row)
                writer.insert(Customer, rows, ids=True)
                contacts: list[dict] = []
                links: list[dict] = []
                address_rows: list[dict] = []
                tag_rows: list[dict] = []
                for row in rows:
                    if row["kind"] == Customer.Kind.COMPANY and k_max:
                        k = gen.rng.randint(k_min, k_max)
                        for j in range(k):
                            contact, link = gen.contact(row, primary=j == 0)
                            contacts.append({**contact_defaults, **contact})
                            link["customer_id"] = row["id"]
                            links.append(link)
                    if addresses:
                        address_rows.append({**gen.address(row), "customer_id": row["id"]})
                    if tag_ids and gen.rng.random() < 0.25:
                        for tag_id in gen.rng.sample(
                            list(tag_ids), k=min(len(tag_ids), gen.rng.randint(1, 2))
                        ):
                            tag_rows.append({"customer_id": row["id"], "tag_id": tag_id})
                if contacts:
                    writer.insert(Contact, contacts, ids=True)
                    for link, contact in zip(links, contacts, strict=True):
                        link["contact_id"] = contact["id"]
                    writer.insert(ContactLink, links)
                if address_rows:
                    writer.insert(Address, address_rows)
                if tag_rows:
                    writer.insert(TAGS_THROUGH, tag_rows)
                writer.insert(
                    AuditEntry,
                    [_audit_row(r, actor_id=actor_id, message=audit_message) for r in rows],
                )
                result.customers += len(rows)
                result.contacts += len(contacts)
                result.addresses += len(address_rows)
                result.audit_entries += len(rows)
                if result.first_id is None:
                    result.first_id = rows[0]["id"]
                result.last_id = rows[-1]["id"]
                if progress:
                    progress(result.customers, time.perf_counter() - started)
        if defer_indexes and vendor == "sqlite" and result.first_id is not None:
            # What the insert trigger would have done, in one statement, then the trigger.
            cursor.execute(
                f"INSERT INTO {FTS_TABLE}(rowid, search_text) SELECT id, search_text "
                "FROM customers_customer WHERE id BETWEEN %s AND %s",
                [result.first_id, result.last_id],
            )
            cursor.execute(SQLITE_FTS_INSERT_TRIGGER)
        if vendor == "postgresql":
            cursor.execute(f"ANALYZE {', '.join(tables)}")
    result.seconds = time.perf_counter() - started
    return result


@contextmanager
def _nullcontext() -> Iterator[None]:
    yield
