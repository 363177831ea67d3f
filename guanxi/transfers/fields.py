"""The fields an import can fill, the column headers they are guessed from (Chinese and
English), and the values accepted for choice fields."""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from guanxi.customers.models import Customer, Industry
from guanxi.sales.models import Intent


@dataclass(frozen=True)
class ImportField:
    key: str
    label: str | Promise
    aliases: tuple[str, ...]
    required: bool = False


CUSTOMER_FIELDS: list[ImportField] = [
    ImportField(
        "name",
        _("Name"),
        (
            "客户名称",
            "客户名",
            "名称",
            "公司名称",
            "企业名称",
            "单位名称",
            "客户",
            "name",
            "customer",
            "customer name",
            "company",
            "company name",
        ),
        required=True,
    ),
    ImportField("kind", _("Type"), ("客户类型", "类型", "type", "kind")),
    ImportField("industry", _("Industry"), ("行业", "所属行业", "industry")),
    ImportField(
        "channel",
        _("Source channel"),
        ("来源渠道", "渠道", "来源", "客户来源", "source channel", "channel", "source"),
    ),
    ImportField(
        "tier",
        _("Value tier"),
        ("客户等级", "等级", "客户级别", "级别", "value tier", "tier", "level"),
    ),
    ImportField("status", _("Status"), ("客户状态", "状态", "status")),
    ImportField(
        "owner",
        _("Owner (username)"),
        ("负责人", "所有人", "销售", "业务员", "owner", "owner username", "sales rep"),
    ),
    ImportField("tags", _("Tags (comma separated)"), ("标签", "tags", "tag", "labels")),
    ImportField(
        "phone", _("Phone"), ("电话", "座机", "固定电话", "联系电话", "phone", "telephone", "tel")
    ),
    ImportField(
        "mobile",
        _("Mobile"),
        ("手机", "手机号", "手机号码", "移动电话", "mobile", "mobile phone", "cell", "cellphone"),
    ),
    ImportField(
        "email", _("E-mail"), ("邮箱", "电子邮箱", "电子邮件", "邮件", "email", "e-mail", "mail")
    ),
    ImportField("website", _("Website"), ("网站", "网址", "官网", "website", "web", "url")),
    ImportField(
        "uscc",
        _("Unified Social Credit Code"),
        (
            "统一社会信用代码",
            "信用代码",
            "社会信用代码",
            "uscc",
            "unified social credit code",
            "credit code",
        ),
    ),
    ImportField("province", _("Province"), ("省份", "省", "所在省份", "province")),
    ImportField("city", _("City"), ("城市", "市", "所在城市", "city")),
    ImportField("birthday", _("Birthday"), ("生日", "出生日期", "birthday", "date of birth")),
    ImportField("lunar_birthday", _("Lunar birthday"), ("农历生日", "lunar birthday")),
    ImportField("gender", _("Gender"), ("性别", "gender", "sex")),
    ImportField(
        "notes", _("Description"), ("备注", "描述", "说明", "notes", "description", "remarks")
    ),
    ImportField(
        "contact_name", _("Contact name"), ("联系人", "联系人姓名", "contact", "contact name")
    ),
    ImportField(
        "contact_mobile",
        _("Contact mobile"),
        ("联系人手机", "联系人电话", "contact mobile", "contact phone"),
    ),
    ImportField(
        "contact_email", _("Contact e-mail"), ("联系人邮箱", "contact email", "contact e-mail")
    ),
    ImportField(
        "contact_title",
        _("Contact title"),
        ("联系人职务", "职务", "职位", "contact title", "title"),
    ),
]

CONTACT_FIELDS: list[ImportField] = [
    ImportField(
        "name",
        _("Name"),
        (
            "姓名",
            "联系人",
            "联系人姓名",
            "名字",
            "name",
            "full name",
            "contact",
            "contact name",
            "fn",
        ),
        required=True,
    ),
    ImportField(
        "mobile",
        _("Mobile"),
        ("手机", "手机号", "手机号码", "mobile", "cell", "mobile phone", "tel;type=cell"),
    ),
    ImportField("phone", _("Phone"), ("电话", "座机", "办公电话", "phone", "telephone", "tel")),
    ImportField("email", _("E-mail"), ("邮箱", "电子邮箱", "邮件", "email", "e-mail")),
    ImportField("wechat", _("WeChat ID"), ("微信", "微信号", "wechat", "wechat id")),
    ImportField("gender", _("Gender"), ("性别", "gender", "sex")),
    ImportField("birthday", _("Birthday"), ("生日", "出生日期", "birthday")),
    ImportField("title", _("Title"), ("职务", "职位", "头衔", "title", "job title", "position")),
    ImportField("department", _("Department"), ("部门", "department", "dept")),
    ImportField("notes", _("Notes"), ("备注", "说明", "notes", "note")),
    ImportField(
        "customer_name",
        _("Customer name"),
        (
            "客户名称",
            "客户",
            "公司",
            "公司名称",
            "单位",
            "customer",
            "customer name",
            "company",
            "organisation",
            "organization",
            "org",
        ),
    ),
    ImportField(
        "customer_uscc",
        _("Customer USCC"),
        ("统一社会信用代码", "客户统一社会信用代码", "信用代码", "uscc", "customer uscc"),
    ),
]

LEAD_FIELDS: list[ImportField] = [
    ImportField(
        "name",
        _("Name"),
        ("姓名", "联系人", "联系人姓名", "名字", "name", "full name", "contact", "contact name"),
    ),
    ImportField(
        "company",
        _("Company"),
        (
            "公司",
            "公司名称",
            "企业名称",
            "单位",
            "单位名称",
            "company",
            "company name",
            "organisation",
            "organization",
        ),
    ),
    ImportField(
        "title", _("Job title"), ("职务", "职位", "头衔", "title", "job title", "position")
    ),
    ImportField(
        "mobile",
        _("Mobile"),
        ("手机", "手机号", "手机号码", "移动电话", "mobile", "mobile phone", "cell", "cellphone"),
    ),
    ImportField(
        "phone", _("Phone"), ("电话", "座机", "固定电话", "办公电话", "phone", "telephone", "tel")
    ),
    ImportField(
        "email", _("E-mail"), ("邮箱", "电子邮箱", "电子邮件", "邮件", "email", "e-mail", "mail")
    ),
    ImportField("wechat", _("WeChat ID"), ("微信", "微信号", "wechat", "wechat id")),
    ImportField("province", _("Province"), ("省份", "省", "所在省份", "province")),
    ImportField("city", _("City"), ("城市", "市", "所在城市", "city")),
    ImportField(
        "channel",
        _("Source channel"),
        ("来源渠道", "渠道", "来源", "线索来源", "source channel", "channel", "source"),
    ),
    ImportField("campaign", _("Campaign"), ("活动", "市场活动", "营销活动", "campaign")),
    ImportField(
        "intent",
        _("Intent level"),
        ("意向等级", "意向", "意向级别", "intent", "intent level"),
    ),
    ImportField(
        "owner",
        _("Owner (username)"),
        ("负责人", "所有人", "销售", "业务员", "owner", "owner username", "sales rep"),
    ),
    ImportField("notes", _("Notes"), ("备注", "说明", "描述", "notes", "note", "remarks")),
]

FIELDS = {"customers": CUSTOMER_FIELDS, "contacts": CONTACT_FIELDS, "leads": LEAD_FIELDS}


def fields_for(kind: str) -> list[ImportField]:
    return FIELDS[kind]


def _norm_header(header: str) -> str:
    header = header.strip().lower().lstrip("\ufeff")
    header = re.sub(r"[\s_\-*:：()（）]+", " ", header).strip()
    return header


def guess_mapping(
    kind: str,
    headers: list[str],
    previous: dict[str, str] | None = None,
) -> list[str]:
    """One field key per column ("" = ignore): the user's previous choice for a header of
    the same name first, then a header-name guess. No field is used twice."""
    keys = {f.key for f in fields_for(kind)}
    alias_map: dict[str, str] = {}
    for f in fields_for(kind):
        for alias in (*f.aliases, f.key, str(f.label)):
            alias_map.setdefault(_norm_header(alias), f.key)
    used: set[str] = set()
    result: list[str] = []
    for header in headers:
        choice = (previous or {}).get(header, None)
        if choice is None or (choice and choice not in keys):
            choice = alias_map.get(_norm_header(header), "")
        if choice in used:
            choice = ""
        if choice:
            used.add(choice)
        result.append(choice)
    return result


# --- values -----------------------------------------------------------------------------


def _choice_aliases(
    choices: Sequence[tuple[str, Promise | str]], extra: dict[str, str]
) -> dict[str, str]:
    aliases: dict[str, str] = {}
    for value, label in choices:
        aliases[value.lower()] = value
        for language in ("en", "zh-hans"):
            with translation.override(language):
                aliases[str(label).strip().lower()] = value
    aliases.update({k.lower(): v for k, v in extra.items()})
    aliases.pop("", None)
    return aliases


def choice_aliases() -> dict[str, dict[str, str]]:
    """For each choice field: accepted spelling (lower case) → stored value."""
    return {
        "kind": _choice_aliases(
            Customer.Kind.choices,
            {
                "公司": "company",
                "企业": "company",
                "单位": "company",
                "个人": "person",
                "individual": "person",
            },
        ),
        "tier": _choice_aliases(
            Customer.Tier.choices,
            {
                "重点客户": "key",
                "重点": "key",
                "合适客户": "suitable",
                "合适": "suitable",
                "普通客户": "ordinary",
                "普通": "ordinary",
                "a": "key",
                "b": "suitable",
                "c": "ordinary",
            },
        ),
        "status": _choice_aliases(
            Customer.Status.choices,
            {
                "潜在客户": "prospect",
                "潜在": "prospect",
                "活跃": "active",
                "成交客户": "active",
                "沉睡": "dormant",
                "休眠": "dormant",
                "流失": "lost",
                "已流失": "lost",
            },
        ),
        "industry": _choice_aliases(Industry.choices, {}),
        "intent": _choice_aliases(
            Intent.choices,
            {
                f"{value.lower()}{suffix}": value
                for value in Intent.values
                for suffix in ("级", "类", "档", "级意向", " level")
            },
        ),
        "gender": _choice_aliases(
            [c for c in Customer.Gender.choices if c[0]],
            {"男": "male", "女": "female", "m": "male", "f": "female", "未知": ""},
        ),
    }


_DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y.%m.%d",
    "%Y%m%d",
    "%Y年%m月%d日",
    "%Y-%m-%d %H:%M:%S",
    "%d/%m/%Y",
)


def parse_date(value: str) -> date:
    """A date in the usual Chinese and ISO spellings; ValueError otherwise."""
    value = value.strip()
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise ValueError(value)


TAG_SPLIT = re.compile(r"[,，、;；|]+")


def split_tags(value: str) -> list[str]:
    return [t.strip()[:50] for t in TAG_SPLIT.split(value) if t.strip()]
