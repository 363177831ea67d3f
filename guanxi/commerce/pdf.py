"""Quotes as PDF documents, in Chinese or English, set in Noto Sans CJK (embedded as a
subset, so the file opens the same everywhere)."""

from decimal import Decimal
from pathlib import Path

import noto_cjk_sans_otc
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from fpdf import FPDF
from fpdf.fonts import FontFace

from guanxi.commerce.models import Quote
from guanxi.commerce.services import plain, policy_get

FONT = "NotoSansCJK"
# Face 2 of the collection is Simplified Chinese (JP, KR, SC, TC, HK, then the Mono faces).
FONT_FACE_SC = 2
INK = (33, 37, 41)
MUTED = (108, 117, 125)
RULE = (222, 226, 230)
HEAD = (241, 243, 245)


def _font_path() -> Path:
    return Path(str(noto_cjk_sans_otc.FONT_PATH))


def _amount(value: Decimal, currency: str = "") -> str:
    text = f"{value:,.2f}"
    return f"{currency} {text}" if currency else text


class _Document(FPDF):
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=8)
        self.set_text_color(*MUTED)
        self.cell(0, 6, f"{self.footer_text}   {self.page_no()}/{{nb}}", align="C")


def quote_pdf(quote: Quote) -> bytes:
    """The quote as a PDF in its document language."""
    with translation.override(quote.language):
        return _render(quote)


def _render(quote: Quote) -> bytes:
    policy = policy_get()
    pdf = _Document(format="A4")
    pdf.footer_text = f"{quote.number} v{quote.version}"
    pdf.set_title(f"{_('Quotation')} {quote.number}")
    pdf.set_creator("Guanxi")
    pdf.set_creation_date(timezone.now())
    pdf.add_font(FONT, "", str(_font_path()), collection_font_number=FONT_FACE_SC)
    pdf.set_margins(16, 16, 16)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()
    pdf.set_text_color(*INK)

    # Seller, then the document title and its facts on the right.
    pdf.set_font(FONT, size=13)
    pdf.cell(110, 7, policy.seller_name or "", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, size=8)
    pdf.set_text_color(*MUTED)
    if policy.seller_details:
        pdf.multi_cell(110, 4, policy.seller_details, new_x="LMARGIN", new_y="NEXT")
    top = 16
    pdf.set_xy(126, top)
    pdf.set_text_color(*INK)
    pdf.set_font(FONT, size=20)
    pdf.cell(68, 10, _("Quotation"), align="R", new_x="LEFT", new_y="NEXT")
    pdf.set_font(FONT, size=9)
    facts = [
        (_("Number"), f"{quote.number}  v{quote.version}"),
        (_("Date"), date_format(timezone.localdate(quote.created_at))),
        (_("Valid until"), date_format(quote.valid_until)),
        (_("Currency"), quote.currency),
    ]
    for label, value in facts:
        pdf.set_x(126)
        pdf.set_text_color(*MUTED)
        pdf.cell(28, 5, label)
        pdf.set_text_color(*INK)
        pdf.cell(40, 5, value, align="R", new_x="LMARGIN", new_y="NEXT")

    # The customer.
    pdf.set_y(max(pdf.get_y(), 48) + 4)
    pdf.set_draw_color(*RULE)
    pdf.line(16, pdf.get_y(), 194, pdf.get_y())
    pdf.ln(3)
    pdf.set_font(FONT, size=8)
    pdf.set_text_color(*MUTED)
    pdf.cell(0, 5, _("To"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(*INK)
    pdf.set_font(FONT, size=11)
    pdf.cell(0, 6, quote.customer.name, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, size=9)
    if quote.contact is not None:
        contact = quote.contact
        parts = [contact.name, contact.mobile, contact.phone, contact.email]
        pdf.cell(0, 5, "  ".join(p for p in parts if p), new_x="LMARGIN", new_y="NEXT")
    if quote.title:
        pdf.ln(2)
        pdf.set_font(FONT, size=10)
        pdf.multi_cell(0, 5, f"{_('Subject')}: {quote.title}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)

    # The lines.
    pdf.set_font(FONT, size=8.5)
    headings = [
        "#",
        _("Item"),
        _("Qty"),
        _("Unit"),
        _("Unit price"),
        _("Discount"),
        _("Tax"),
        _("Amount"),
    ]
    widths = (8, 62, 14, 12, 24, 16, 14, 28)
    aligns = ("C", "L", "R", "C", "R", "R", "R", "R")
    with pdf.table(
        col_widths=widths,
        text_align=aligns,
        headings_style=FontFace(family=FONT, emphasis="", fill_color=HEAD, color=INK),
        line_height=5.5,
        borders_layout="HORIZONTAL_LINES",
        first_row_as_headings=True,
    ) as table:
        row = table.row()
        for heading in headings:
            row.cell(heading)
        for number, line in enumerate(quote.lines.select_related("product"), start=1):
            row = table.row()
            item = line.description
            if line.product is not None and line.product.sku:
                item = f"{line.description}\n{line.product.sku}"
            row.cell(str(number))
            row.cell(item)
            row.cell(plain(line.quantity))
            row.cell(line.unit)
            row.cell(_amount(line.unit_price))
            row.cell(f"{plain(line.discount_percent)}%" if line.discount_percent else "")
            row.cell(f"{plain(line.tax_rate)}%")
            row.cell(_amount(line.gross_amount))

    # Totals.
    pdf.ln(3)
    pdf.set_font(FONT, size=9)
    rows = [
        (_("Subtotal before discount"), quote.subtotal + quote.discount_total),
        (_("Discount"), -quote.discount_total),
        (_("Net amount"), quote.subtotal),
        (_("Tax"), quote.tax_total),
    ]
    for label, value in rows:
        if label == _("Discount") and not quote.discount_total:
            continue
        pdf.set_x(120)
        pdf.set_text_color(*MUTED)
        pdf.cell(44, 5.5, label, align="R")
        pdf.set_text_color(*INK)
        pdf.cell(30, 5.5, _amount(value), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(120)
    pdf.set_font(FONT, size=12)
    pdf.cell(44, 8, _("Total"), align="R")
    pdf.cell(30, 8, _amount(quote.total, quote.currency), align="R", new_x="LMARGIN", new_y="NEXT")

    if quote.terms:
        pdf.ln(4)
        pdf.set_font(FONT, size=9)
        pdf.set_text_color(*MUTED)
        pdf.cell(0, 5, _("Terms and notes"), new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(*INK)
        pdf.multi_cell(0, 4.5, quote.terms, new_x="LMARGIN", new_y="NEXT")

    pdf.ln(6)
    pdf.set_font(FONT, size=9)
    pdf.set_text_color(*MUTED)
    owner = quote.owner
    contact_line = "  ".join(
        p for p in (owner.get_full_name() or owner.get_username(), owner.email) if p
    )
    pdf.multi_cell(0, 4.5, f"{_('Your contact')}: {contact_line}", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
